//! Dead letters: what the consume loop writes to `<topic>.dlq` (the message as it arrived, its
//! headers kept, plus the `dlq.*` headers saying why and from where), and the way back once
//! the cause is fixed: [`Redriver`] re-publishes what waits in `<topic>.dlq` onto `<topic>`.
//!
//! The re-drive keeps its own position in the dead-letter topic as a consumer group
//! (`dlq-redrive` by default), committed only after the broker acknowledged every message it
//! re-published, so each dead letter is re-driven once; a crash in between re-drives the rest
//! again, which is harmless because every consumer is idempotent (version guard, event-id
//! ledger, order-id dedup). A re-driven message reaches every group of `<topic>`, not only the
//! one that gave up on it, for the same reason.

use crate::{groups::PartitionLag, KafkaArgs, KafkaError};
use rdkafka::{
    consumer::{CommitMode, Consumer},
    message::{BorrowedHeaders, Header, Headers, OwnedHeaders},
    producer::{FutureProducer, FutureRecord},
    Message, Offset, TopicPartitionList,
};
use std::time::Duration;

/// Why the consumer gave up on the message.
pub const ERROR: &str = "dlq.error";
/// Where the message was consumed: topic, partition, offset.
pub const TOPIC: &str = "dlq.topic";
pub const PARTITION: &str = "dlq.partition";
pub const OFFSET: &str = "dlq.offset";
/// Which consumer gave up on it.
pub const CONSUMER: &str = "dlq.consumer";
/// On a re-driven message: the dead letter it came from, `<topic>.dlq:<partition>:<offset>`.
pub const REDRIVEN_FROM: &str = "redriven-from";

/// How long the re-drive waits for the next dead letter it knows is there, or for the broker
/// to acknowledge one it re-published.
const WAIT: Duration = Duration::from_secs(30);

/// The producer's own headers of a message: without the `dlq.*` ones (and a former
/// re-drive's mark), so that neither a dead letter nor a re-driven message piles them up.
pub fn original_headers(headers: Option<&BorrowedHeaders>) -> OwnedHeaders {
    let mut kept = OwnedHeaders::new();
    for header in headers.into_iter().flat_map(|h| h.iter()) {
        if header.key.starts_with("dlq.") || header.key == REDRIVEN_FROM {
            continue;
        }
        kept = kept.insert(Header {
            key: header.key,
            value: header.value,
        });
    }
    kept
}

/// Re-publishes dead letters onto the topic they came from, once each.
pub struct Redriver {
    kafka: KafkaArgs,
    group: String,
    producer: FutureProducer,
    /// One re-drive at a time in this process: two at once would re-publish the same letters.
    running: tokio::sync::Mutex<()>,
}

impl Redriver {
    /// `group`: the consumer group whose committed offsets in every `<topic>.dlq` mark what
    /// was re-driven already.
    pub fn new(kafka: &KafkaArgs, group: &str) -> Result<Self, KafkaError> {
        Ok(Self {
            kafka: kafka.clone(),
            group: group.to_owned(),
            producer: kafka.idempotent_producer(WAIT, Duration::ZERO)?,
            running: tokio::sync::Mutex::new(()),
        })
    }

    /// The dead letters of `topic` (a full name) that have not been re-driven yet.
    pub async fn waiting(&self, topic: &str) -> Result<i64, KafkaError> {
        Ok(self.positions(topic).await?.iter().map(|p| p.lag).sum())
    }

    async fn positions(&self, topic: &str) -> Result<Vec<PartitionLag>, KafkaError> {
        let dlq = events::Topic::dead_letter(topic);
        let mut lags = self.kafka.group_lag(&self.group, &[dlq]).await?;
        Ok(lags.pop().map(|t| t.partitions).unwrap_or_default())
    }

    /// Re-publishes every dead letter of `topic` (a full name) waiting now onto `topic`: key,
    /// value and the producer's headers as they first arrived, plus [`REDRIVEN_FROM`]. Returns
    /// how many it re-published. Letters that arrive meanwhile wait for the next re-drive.
    pub async fn redrive(&self, topic: &str) -> Result<u64, KafkaError> {
        let _one_at_a_time = self.running.lock().await;
        let dlq = events::Topic::dead_letter(topic);
        let failed = |reason: String| KafkaError::Redrive {
            topic: dlq.clone(),
            reason,
        };
        let waiting: Vec<PartitionLag> = self
            .positions(topic)
            .await?
            .into_iter()
            .filter(|p| p.lag > 0)
            .collect();
        if waiting.is_empty() {
            return Ok(0);
        }
        let reader = self.kafka.consumer(&self.group, true)?;
        let mut done = TopicPartitionList::new();
        let mut redriven = 0;
        for p in &waiting {
            // One partition at a time, assigned rather than subscribed: the re-drive joins no
            // group, it only commits under one.
            let mut assignment = TopicPartitionList::new();
            assignment
                .add_partition_offset(&dlq, p.partition, Offset::Offset(p.next()))
                .map_err(|e| failed(e.to_string()))?;
            reader
                .assign(&assignment)
                .map_err(|e| failed(e.to_string()))?;
            let mut next = p.next();
            while next < p.end {
                let message = tokio::time::timeout(WAIT, reader.recv())
                    .await
                    .map_err(|_| failed(format!("no dead letter arrived within {WAIT:?}")))?
                    .map_err(|e| failed(e.to_string()))?;
                let from = format!("{dlq}:{}:{}", message.partition(), message.offset());
                let headers = original_headers(message.headers()).insert(Header {
                    key: REDRIVEN_FROM,
                    value: Some(&from),
                });
                let mut record = FutureRecord::<[u8], [u8]>::to(topic).headers(headers);
                if let Some(key) = message.key() {
                    record = record.key(key);
                }
                if let Some(payload) = message.payload() {
                    record = record.payload(payload);
                }
                self.producer
                    .send(record, WAIT)
                    .await
                    .map_err(|(e, _)| failed(format!("publishing {from} to {topic}: {e}")))?;
                redriven += 1;
                next = message.offset() + 1;
            }
            done.add_partition_offset(&dlq, p.partition, Offset::Offset(next))
                .map_err(|e| failed(e.to_string()))?;
            // Partition by partition: what was re-published is marked even if a later one fails.
            reader
                .commit(&done, CommitMode::Sync)
                .map_err(|e| failed(format!("committing the re-drive's position: {e}")))?;
        }
        tracing::info!(topic, redriven, "re-drove dead letters");
        Ok(redriven)
    }
}
