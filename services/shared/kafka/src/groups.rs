//! How far a consumer group is behind on its topics, asked of the broker without joining the
//! group: a client configured with the group's id fetches the group's committed offsets
//! (OffsetFetch needs no membership) and each partition's watermarks. So the gateway can show
//! every group's lag, a test can wait for a group to catch up, and the dead-letter re-drive
//! can find what is still waiting, all without disturbing the consumers.

use crate::{KafkaArgs, KafkaError};
use rdkafka::{
    consumer::{BaseConsumer, Consumer},
    Offset, TopicPartitionList,
};
use serde::Serialize;
use std::time::Duration;

/// How long one broker round trip of an inspection may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// One partition of a topic a group consumes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionLag {
    pub partition: i32,
    /// The group's committed position (the next offset it will read); `None` before its first
    /// commit.
    pub committed: Option<i64>,
    /// The low watermark: where a group without a commit starts (every consumer of the platform
    /// starts from the earliest record).
    pub start: i64,
    /// The high watermark (log end offset).
    pub end: i64,
    /// Records the group has yet to read.
    pub lag: i64,
}

/// A topic a group consumes: its partitions and their summed lag. A topic that does not exist
/// (yet) has no partitions and no lag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopicLag {
    pub topic: String,
    pub lag: i64,
    pub partitions: Vec<PartitionLag>,
}

impl PartitionLag {
    /// The first offset the group has not read yet.
    pub fn next(&self) -> i64 {
        self.committed.unwrap_or(self.start).max(self.start)
    }
}

impl KafkaArgs {
    /// The lag of consumer group `group` on each of `topics` (full names). Blocking calls, run
    /// off the async threads; joins nothing and commits nothing.
    pub async fn group_lag(
        &self,
        group: &str,
        topics: &[String],
    ) -> Result<Vec<TopicLag>, KafkaError> {
        let consumer: BaseConsumer = self
            .base()
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()
            .map_err(KafkaError::Client)?;
        let topics = topics.to_vec();
        tokio::task::spawn_blocking(move || {
            topics
                .iter()
                .map(|topic| topic_lag(&consumer, topic))
                .collect()
        })
        .await
        .expect("the lag inspection does not panic")
    }
}

fn topic_lag(consumer: &BaseConsumer, topic: &str) -> Result<TopicLag, KafkaError> {
    let failed = |source| KafkaError::Inspect {
        topic: topic.to_owned(),
        source,
    };
    let partitions = crate::partitions(consumer, topic, TIMEOUT)?.unwrap_or_default();
    let mut wanted = TopicPartitionList::with_capacity(partitions.len());
    for &partition in &partitions {
        wanted.add_partition(topic, partition);
    }
    let committed = if partitions.is_empty() {
        TopicPartitionList::new()
    } else {
        consumer
            .committed_offsets(wanted, TIMEOUT)
            .map_err(failed)?
    };
    let mut lags = Vec::with_capacity(partitions.len());
    for partition in partitions {
        let (start, end) = consumer
            .fetch_watermarks(topic, partition, TIMEOUT)
            .map_err(failed)?;
        let committed = committed
            .find_partition(topic, partition)
            .and_then(|p| match p.offset() {
                Offset::Offset(offset) => Some(offset),
                _ => None,
            });
        let mut lag = PartitionLag {
            partition,
            committed,
            start,
            end,
            lag: 0,
        };
        lag.lag = (end - lag.next()).max(0);
        lags.push(lag);
    }
    Ok(TopicLag {
        topic: topic.to_owned(),
        lag: lags.iter().map(|p| p.lag).sum(),
        partitions: lags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_without_a_commit_reads_from_the_low_watermark() {
        let lag = |committed, start| PartitionLag {
            partition: 0,
            committed,
            start,
            end: 10,
            lag: 0,
        };
        assert_eq!(lag(None, 3).next(), 3);
        assert_eq!(lag(Some(7), 3).next(), 7);
        // A commit below what retention kept: the consumer resumes at the low watermark.
        assert_eq!(lag(Some(1), 3).next(), 3);
    }
}
