//! What a member of a consumer group does when partitions move between instances.
//!
//! With several instances in one group (`cooperative-sticky` assignment), an instance that joins
//! or leaves takes partitions from, or hands them to, the others while they keep consuming. The
//! new owner starts from the group's committed offset, so the old owner must have committed
//! exactly what it applied, no less (the new owner would repeat it) and no more (it would skip
//! what was never applied):
//!
//! - the consume loop records, after each batch, the offset past what it applied per partition
//!   ([`CommitOnRevoke::applied`]) and commits them all asynchronously;
//! - when partitions are revoked, [`CommitOnRevoke`] commits their recorded offsets
//!   synchronously, before librdkafka lets them go, so the new owner starts right after them;
//! - librdkafka runs the rebalance inside the consumer's poll, which the loop calls only while
//!   it gathers a batch. A batch gathered partly before a revocation can hold messages of a
//!   partition that is no longer ours: the loop drops them ([`CommitOnRevoke::owns`]) unapplied
//!   and uncommitted, and the new owner receives them from the committed offset.
//!
//! A lost assignment (this instance was too slow and the group moved on without it) commits
//! nothing: the partitions already have a new owner, which starts from the last commit; what
//! this instance applied since is applied again, which every handler tolerates.

use rdkafka::{
    client::ClientContext,
    consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance},
    Offset, TopicPartitionList,
};
use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Mutex,
};

type Partition = (String, i32);

/// The consume loop's consumer context: tracks the partitions this instance owns and the
/// offsets applied on them, and commits those of revoked partitions before they move.
pub struct CommitOnRevoke {
    consumer: &'static str,
    state: Mutex<Owned>,
}

#[derive(Default)]
struct Owned {
    partitions: BTreeSet<Partition>,
    /// Per owned partition, the offset after the last message applied: what a commit says.
    applied: BTreeMap<Partition, i64>,
}

impl CommitOnRevoke {
    pub fn new(consumer: &'static str) -> Self {
        Self {
            consumer,
            state: Mutex::default(),
        }
    }

    fn owned(&self) -> std::sync::MutexGuard<'_, Owned> {
        self.state
            .lock()
            .expect("the partition state is never poisoned")
    }

    /// Whether `partition` of `topic` is still this instance's to apply and commit.
    pub fn owns(&self, topic: &str, partition: i32) -> bool {
        self.owned()
            .partitions
            .contains(&(topic.to_owned(), partition))
    }

    /// Records that everything before each offset in `next` was applied, on the partitions
    /// still owned (a revoked one is its new owner's to commit).
    pub fn applied(&self, next: &TopicPartitionList) {
        let mut owned = self.owned();
        for element in next.elements() {
            let key = (element.topic().to_owned(), element.partition());
            if let (true, Offset::Offset(offset)) =
                (owned.partitions.contains(&key), element.offset())
            {
                owned.applied.insert(key, offset);
            }
        }
    }

    /// What was applied on every owned partition: what a commit may say.
    pub fn applied_offsets(&self) -> TopicPartitionList {
        offsets(self.owned().applied.iter())
    }
}

fn offsets<'a>(applied: impl Iterator<Item = (&'a Partition, &'a i64)>) -> TopicPartitionList {
    let mut list = TopicPartitionList::new();
    for ((topic, partition), offset) in applied {
        list.add_partition_offset(topic, *partition, Offset::Offset(*offset))
            .expect("a valid offset");
    }
    list
}

impl ClientContext for CommitOnRevoke {}

impl ConsumerContext for CommitOnRevoke {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(partitions) => {
                let mut owned = self.owned();
                for p in partitions.elements() {
                    owned
                        .partitions
                        .insert((p.topic().to_owned(), p.partition()));
                }
                tracing::info!(
                    consumer = self.consumer,
                    assigned = partitions.count(),
                    owned = owned.partitions.len(),
                    "partitions assigned"
                );
            }
            Rebalance::Revoke(partitions) => {
                let revoked: Vec<(Partition, Option<i64>)> = {
                    let mut owned = self.owned();
                    partitions
                        .elements()
                        .iter()
                        .map(|p| {
                            let key = (p.topic().to_owned(), p.partition());
                            owned.partitions.remove(&key);
                            let applied = owned.applied.remove(&key);
                            (key, applied)
                        })
                        .collect()
                };
                let commit = offsets(
                    revoked
                        .iter()
                        .filter_map(|(key, applied)| applied.as_ref().map(|a| (key, a))),
                );
                if consumer.assignment_lost() {
                    tracing::warn!(consumer = self.consumer, revoked = revoked.len(),
                        "partitions lost (the group moved on without this instance); their new owner resumes from the last commit");
                    return;
                }
                tracing::info!(
                    consumer = self.consumer,
                    revoked = revoked.len(),
                    committing = commit.count(),
                    "partitions revoked"
                );
                if commit.count() > 0 {
                    if let Err(e) = consumer.commit(&commit, CommitMode::Sync) {
                        tracing::warn!(consumer = self.consumer, error = ?e,
                            "committing revoked partitions failed; their new owner repeats what was applied since the last commit");
                    }
                }
            }
            Rebalance::Error(e) => {
                tracing::warn!(consumer = self.consumer, error = %e, "rebalance failed")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[(&str, i32, i64)]) -> TopicPartitionList {
        let mut list = TopicPartitionList::new();
        for (topic, partition, offset) in entries {
            list.add_partition_offset(topic, *partition, Offset::Offset(*offset))
                .unwrap();
        }
        list
    }

    #[test]
    fn only_owned_partitions_are_recorded_as_applied_and_committable() {
        let context = CommitOnRevoke::new("test");
        context
            .owned()
            .partitions
            .extend([("a".to_owned(), 0), ("a".to_owned(), 2)]);
        context.applied(&list(&[("a", 0, 5), ("a", 1, 7), ("a", 2, 9)]));
        assert!(context.owns("a", 2) && !context.owns("a", 1));
        let all = context.applied_offsets();
        assert_eq!(all.count(), 2);
        assert_eq!(
            all.find_partition("a", 0).unwrap().offset(),
            Offset::Offset(5)
        );
        assert!(all.find_partition("a", 1).is_none());
    }
}
