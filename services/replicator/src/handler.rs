//! From a Kafka message to a read-model write, and from failures to the consume loop's
//! decisions: undecodable or malformed events are dead-lettered, MongoDB failures are retried
//! (never skipped, so nothing is lost while MongoDB is down).

use crate::read_model::{Applied, ApplyError, ReadModel};
use events::ChangeEvent;
use kafka::consume::{Handler, Incoming, Outcome};

const APPLY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

pub struct ReplicationHandler {
    model: ReadModel,
    topic_prefix: String,
}

impl ReplicationHandler {
    pub fn new(model: ReadModel, topic_prefix: String) -> Self {
        Self {
            model,
            topic_prefix,
        }
    }

    /// The collection for a topic: its name without the environment prefix.
    fn collection<'t>(&self, topic: &'t str) -> &'t str {
        topic
            .strip_prefix(self.topic_prefix.as_str())
            .unwrap_or(topic)
    }
}

impl Handler for ReplicationHandler {
    async fn handle(&mut self, message: &Incoming<'_>) -> Outcome {
        let event: ChangeEvent = match serde_json::from_slice(message.payload.unwrap_or_default()) {
            Ok(event) => event,
            Err(e) => return Outcome::Poison(format!("not a change event: {e}")),
        };
        let collection = self.collection(message.topic);
        // A write to a server that vanished mid-request can hang without an error; bound it so
        // the loop backs off and retries instead of stalling.
        let applied =
            tokio::time::timeout(APPLY_TIMEOUT, self.model.apply(collection, &event)).await;
        let Ok(applied) = applied else {
            return Outcome::Retry(format!("MongoDB did not answer within {APPLY_TIMEOUT:?}"));
        };
        match applied {
            Ok(applied) => {
                let outcome = match applied {
                    Applied::Upserted => "upserted",
                    Applied::Deleted => "deleted",
                    Applied::Stale => "stale",
                };
                metrics::counter!("replicator_events_total", "collection" => collection.to_owned(), "outcome" => outcome)
                    .increment(1);
                tracing::debug!(collection, id = %event.aggregate_id, version = event.version, outcome, "applied");
                Outcome::Done
            }
            Err(ApplyError::Invalid(reason)) => Outcome::Poison(reason),
            Err(ApplyError::Mongo(e)) => Outcome::Retry(e.to_string()),
        }
    }
}
