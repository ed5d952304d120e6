//! From Kafka messages to read-model writes, and from failures to the consume loop's
//! decisions: undecodable or malformed events are dead-lettered, MongoDB failures are retried
//! (never skipped, so nothing is lost while MongoDB is down).
//!
//! Messages are JSON or Avro (Confluent wire format), decided per message by the first byte
//! (see `codec`), so a topic migrating from one to the other replicates throughout. Avro
//! writer schemas are fetched from `SCHEMA_REGISTRY_URL` by the id in the message and cached;
//! while the registry is unreachable, the batch is retried like a MongoDB outage.

use crate::read_model::{Applied, ApplyError, ReadModel};
use codec::{DecodeError, EventDecoder};
use events::ChangeEvent;
use kafka::consume::{BatchHandler, BatchOutcome, Incoming};

/// A write to a server that vanished mid-request can hang without an error; bound it so the
/// loop backs off and retries instead of stalling.
const APPLY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

pub struct ReplicationHandler {
    model: ReadModel,
    topic_prefix: String,
    decoder: EventDecoder,
}

impl ReplicationHandler {
    pub fn new(model: ReadModel, topic_prefix: String, decoder: EventDecoder) -> Self {
        Self {
            model,
            topic_prefix,
            decoder,
        }
    }

    /// The collection for a topic: its name without the environment prefix.
    fn collection<'t>(&self, topic: &'t str) -> &'t str {
        topic
            .strip_prefix(self.topic_prefix.as_str())
            .unwrap_or(topic)
    }
}

impl BatchHandler for ReplicationHandler {
    async fn handle_batch(&mut self, batch: &[Incoming<'_>]) -> BatchOutcome {
        let mut results: Vec<Result<(), String>> = Vec::with_capacity(batch.len());
        let mut decoded = Vec::with_capacity(batch.len());
        for message in batch {
            match self.decoder.decode(message.payload).await {
                Ok(event) => {
                    decoded.push((results.len(), self.collection(message.topic), event));
                    results.push(Ok(()));
                }
                Err(DecodeError::Malformed(reason)) => {
                    results.push(Err(format!("not a change event: {reason}")))
                }
                Err(e @ DecodeError::Unavailable(_)) => return BatchOutcome::Retry(e.to_string()),
            }
        }
        let events: Vec<(&str, &ChangeEvent)> = decoded.iter().map(|(_, c, e)| (*c, e)).collect();
        let applied =
            match tokio::time::timeout(APPLY_TIMEOUT, self.model.apply_batch(&events)).await {
                Err(_) => {
                    return BatchOutcome::Retry(format!(
                        "MongoDB did not answer within {APPLY_TIMEOUT:?}"
                    ))
                }
                Ok(Err(e)) => return BatchOutcome::Retry(e.to_string()),
                Ok(Ok(applied)) => applied,
            };
        for ((index, collection, event), applied) in decoded.iter().zip(applied) {
            let outcome = match applied {
                Ok(Applied::Upserted) => "upserted",
                Ok(Applied::Deleted) => "deleted",
                Ok(Applied::Stale) => "stale",
                Err(ApplyError::Invalid(reason)) => {
                    results[*index] = Err(reason);
                    continue;
                }
                Err(e) => {
                    results[*index] = Err(e.to_string());
                    continue;
                }
            };
            metrics::counter!("replicator_events_total", "collection" => collection.to_string(), "outcome" => outcome)
                .increment(1);
            tracing::debug!(collection, id = %event.aggregate_id, version = event.version, outcome, "applied");
        }
        metrics::histogram!("replicator_batch_size").record(batch.len() as f64);
        BatchOutcome::Handled(results)
    }
}
