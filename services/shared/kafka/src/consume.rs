//! The consume loop every consumer binary shares: messages in partition order, one at a time
//! or in batches, offsets committed only after the handler finished with them.
//!
//! A handler answers each message with an [`Outcome`]: done (commit), poison (publish to
//! `<topic>.dlq` with the reason in headers, commit, move on) or retry (a dependency is down:
//! back off and hand the same message again, never skipping it). A [`BatchHandler`] takes
//! whatever is already waiting (up to a limit) in one go, so that it can write in bulk under
//! load; a retry then repeats the whole batch, so it must be idempotent. Shutdown stops between
//! batches; what is done is committed, what is not is redelivered to the next instance.
//!
//! Several instances may share a group: each owns some of the partitions, and when they move
//! (an instance joins, leaves or dies) the offsets applied on them are committed first and a
//! batch's messages of a partition revoked while it was gathered are dropped, not applied (see
//! [`crate::CommitOnRevoke`]).

use crate::{dead_letters, CommitOnRevoke, KafkaArgs, KafkaError};
use futures::FutureExt;
use rdkafka::{
    consumer::{CommitMode, Consumer, StreamConsumer},
    message::{BorrowedHeaders, BorrowedMessage, Header},
    producer::{FutureProducer, FutureRecord},
    Message, Offset, TopicPartitionList,
};
use runtime::backoff::Backoff;
use std::{collections::BTreeMap, future::Future, pin::Pin, time::Duration};

/// What became of one message.
#[derive(Debug)]
pub enum Outcome {
    /// Applied (or deliberately skipped, e.g. a stale version): commit it.
    Done,
    /// It can never be handled: dead-letter it with this reason and go on.
    Poison(String),
    /// A dependency failed: back off and try the same message again.
    Retry(String),
}

/// What became of a batch.
#[derive(Debug)]
pub enum BatchOutcome {
    /// Every message was handled: one entry per message, in order, `Err` holding the reason
    /// a message is dead-lettered.
    Handled(Vec<Result<(), String>>),
    /// A dependency failed: back off and hand the whole batch again.
    Retry(String),
}

/// A message as handlers see it.
pub struct Incoming<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<&'a [u8]>,
    pub payload: Option<&'a [u8]>,
    /// The producer's headers (the relay's `id` and `type`), kept on a dead letter so that a
    /// re-drive publishes the message as it first arrived.
    pub headers: Option<&'a BorrowedHeaders>,
}

impl<'a> From<&'a BorrowedMessage<'_>> for Incoming<'a> {
    fn from(message: &'a BorrowedMessage<'_>) -> Self {
        Self {
            topic: message.topic(),
            partition: message.partition(),
            offset: message.offset(),
            key: message.key(),
            payload: message.payload(),
            headers: message.headers(),
        }
    }
}

pub trait Handler {
    fn handle(&mut self, message: &Incoming<'_>) -> impl Future<Output = Outcome> + Send;
}

pub trait BatchHandler {
    /// Handles `batch` (never empty). Must be idempotent: after a retry, or a crash before the
    /// commit, the same messages come again.
    fn handle_batch(&mut self, batch: &[Incoming<'_>])
        -> impl Future<Output = BatchOutcome> + Send;
}

/// A [`Handler`] driven through the batch loop with batches of one.
struct OneAtATime<'h, H>(&'h mut H);

impl<H: Handler + Send> BatchHandler for OneAtATime<'_, H> {
    async fn handle_batch(&mut self, batch: &[Incoming<'_>]) -> BatchOutcome {
        debug_assert_eq!(batch.len(), 1);
        match self.0.handle(&batch[0]).await {
            Outcome::Done => BatchOutcome::Handled(vec![Ok(())]),
            Outcome::Poison(reason) => BatchOutcome::Handled(vec![Err(reason)]),
            Outcome::Retry(reason) => BatchOutcome::Retry(reason),
        }
    }
}

pub struct ConsumeLoop {
    consumer: StreamConsumer<CommitOnRevoke>,
    dead_letters: FutureProducer,
    retry: Backoff,
    name: &'static str,
    lag_checked: std::sync::Mutex<Option<std::time::Instant>>,
}

impl ConsumeLoop {
    /// Creates `topics` and their `.dlq` topics if missing (a consumer may start before the
    /// first event was ever published), joins `group` and subscribes to `topics`.
    pub async fn new(
        kafka: &KafkaArgs,
        name: &'static str,
        group: &str,
        topics: &[String],
        retry: Backoff,
    ) -> Result<Self, KafkaError> {
        let dead_letter_topics: Vec<String> = topics
            .iter()
            .map(|t| events::Topic::dead_letter(t))
            .collect();
        let all: Vec<&str> = topics
            .iter()
            .chain(&dead_letter_topics)
            .map(String::as_str)
            .collect();
        kafka.ensure_topics(&all).await?;
        let consumer = kafka.group_consumer(group, CommitOnRevoke::new(name))?;
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        consumer.subscribe(&names).map_err(KafkaError::Client)?;
        let dead_letters = kafka.idempotent_producer(Duration::from_secs(30), Duration::ZERO)?;
        Ok(Self {
            consumer,
            dead_letters,
            retry,
            name,
            lag_checked: Default::default(),
        })
    }

    /// Runs until `stop` resolves, one message at a time. Returns how many were handled.
    pub async fn run(
        &self,
        handler: &mut (impl Handler + Send),
        stop: impl Future<Output = ()>,
    ) -> u64 {
        self.run_batches(&mut OneAtATime(handler), 1, stop).await
    }

    /// Runs until `stop` resolves, handing the handler every message already received, up to
    /// `max_batch` at a time: one under light load, many when a backlog drains. Returns how
    /// many messages were handled.
    pub async fn run_batches(
        &self,
        handler: &mut impl BatchHandler,
        max_batch: usize,
        stop: impl Future<Output = ()>,
    ) -> u64 {
        let mut stop = std::pin::pin!(stop);
        let mut handled = 0;
        loop {
            let first = tokio::select! {
                _ = &mut stop => break,
                received = self.consumer.recv() => match received {
                    Ok(m) => m,
                    Err(e) => {
                        tracing::warn!(consumer = self.name, error = %e, "receive failed");
                        continue;
                    }
                },
            };
            let mut batch = vec![first];
            // Only what librdkafka has already fetched: never wait to fill a batch.
            while batch.len() < max_batch {
                match self.consumer.recv().now_or_never() {
                    Some(Ok(message)) => batch.push(message),
                    Some(Err(e)) => {
                        tracing::warn!(consumer = self.name, error = %e, "receive failed");
                        break;
                    }
                    None => break,
                }
            }
            // A rebalance runs inside recv: what it revoked meanwhile is the new owner's now.
            let gathered = batch.len();
            let ownership = self.consumer.context();
            batch.retain(|m| ownership.owns(m.topic(), m.partition()));
            if batch.len() < gathered {
                tracing::info!(
                    consumer = self.name,
                    dropped = gathered - batch.len(),
                    "left messages of revoked partitions to their new owner"
                );
            }
            if batch.is_empty() {
                continue;
            }
            if !self.process(&batch, handler, &mut stop).await {
                break; // shutdown during a retry: leave the batch uncommitted
            }
            handled += batch.len() as u64;
        }
        let applied = self.consumer.context().applied_offsets();
        if applied.count() > 0 {
            if let Err(e) = self.consumer.commit(&applied, CommitMode::Sync) {
                tracing::warn!(consumer = self.name, error = %e, "final commit failed; the last messages may be redelivered");
            }
        }
        handled
    }

    /// Returns false if shutdown came before the batch was finished.
    async fn process(
        &self,
        batch: &[BorrowedMessage<'_>],
        handler: &mut impl BatchHandler,
        stop: &mut Pin<&mut impl Future<Output = ()>>,
    ) -> bool {
        let incoming: Vec<Incoming> = batch.iter().map(Incoming::from).collect();
        let mut attempt = 0;
        let results = loop {
            match handler.handle_batch(&incoming).await {
                BatchOutcome::Handled(results) => break results,
                BatchOutcome::Retry(reason) => {
                    let delay = self.retry.delay(attempt);
                    attempt += 1;
                    metrics::counter!("consumer_retries_total", "consumer" => self.name)
                        .increment(1);
                    let first = &incoming[0];
                    tracing::warn!(consumer = self.name, topic = first.topic, offset = first.offset,
                        batch = incoming.len(), attempt, retry_in_ms = delay.as_millis() as u64,
                        %reason, "handling failed; retrying");
                    tokio::select! {
                        _ = stop.as_mut() => return false,
                        _ = tokio::time::sleep(delay) => {}
                    }
                }
            }
        };
        assert_eq!(
            results.len(),
            incoming.len(),
            "a batch handler must answer every message"
        );
        for (message, result) in incoming.iter().zip(results) {
            if let Err(reason) = result {
                if !self.dead_letter(message, &reason, stop).await {
                    return false;
                }
            }
        }
        // Every owned partition's applied offset, not only this batch's: an asynchronous commit
        // refused mid-rebalance (a stale generation) is repaired by the next batch's.
        let ownership = self.consumer.context();
        ownership.applied(&next_offsets(&incoming));
        let committable = ownership.applied_offsets();
        if committable.count() > 0 {
            if let Err(e) = self.consumer.commit(&committable, CommitMode::Async) {
                tracing::warn!(consumer = self.name, error = %e, "commit failed; the messages may be redelivered");
            }
        }
        metrics::counter!("consumer_messages_total", "consumer" => self.name)
            .increment(incoming.len() as u64);
        self.report_lag(&incoming[incoming.len() - 1]);
        true
    }

    /// Publishes to `<topic>.dlq` with the reason and origin in headers, retrying until the
    /// broker takes it: a dead letter must not be lost either. False if shutdown came first.
    async fn dead_letter(
        &self,
        incoming: &Incoming<'_>,
        reason: &str,
        stop: &mut Pin<&mut impl Future<Output = ()>>,
    ) -> bool {
        let dlq = events::Topic::dead_letter(incoming.topic);
        let (partition, offset) = (incoming.partition.to_string(), incoming.offset.to_string());
        tracing::error!(consumer = self.name, topic = incoming.topic, offset = incoming.offset, %reason, "dead-lettering");
        let mut attempt = 0;
        loop {
            let headers = dead_letters::original_headers(incoming.headers)
                .insert(Header {
                    key: dead_letters::ERROR,
                    value: Some(reason),
                })
                .insert(Header {
                    key: dead_letters::TOPIC,
                    value: Some(incoming.topic),
                })
                .insert(Header {
                    key: dead_letters::PARTITION,
                    value: Some(&partition),
                })
                .insert(Header {
                    key: dead_letters::OFFSET,
                    value: Some(&offset),
                })
                .insert(Header {
                    key: dead_letters::CONSUMER,
                    value: Some(self.name),
                });
            let mut record = FutureRecord::<[u8], [u8]>::to(&dlq).headers(headers);
            if let Some(key) = incoming.key {
                record = record.key(key);
            }
            if let Some(payload) = incoming.payload {
                record = record.payload(payload);
            }
            match self
                .dead_letters
                .send(record, Duration::from_secs(30))
                .await
            {
                Ok(_) => {
                    metrics::counter!("consumer_dead_lettered_total", "consumer" => self.name)
                        .increment(1);
                    return true;
                }
                Err((e, _)) => {
                    let delay = self.retry.delay(attempt);
                    attempt += 1;
                    tracing::warn!(consumer = self.name, error = %e, "dead-lettering failed; retrying");
                    tokio::select! {
                        _ = stop.as_mut() => return false,
                        _ = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
    }

    /// True once every assigned partition has been consumed up to its high watermark (used by
    /// one-shot runs such as a resync). False before the group has been assigned partitions.
    pub fn caught_up(&self) -> bool {
        let Ok(positions) = self.consumer.position() else {
            return false;
        };
        if positions.count() == 0 {
            return false;
        }
        positions.elements().iter().all(|p| {
            let Ok((low, high)) =
                self.consumer
                    .fetch_watermarks(p.topic(), p.partition(), Duration::from_secs(2))
            else {
                return false;
            };
            match p.offset() {
                rdkafka::Offset::Offset(position) => position >= high,
                _ => high == low, // nothing consumed yet: caught up only if there is nothing
            }
        })
    }

    /// Lag after this message, asked of the broker at most every few seconds (it is a round trip).
    fn report_lag(&self, incoming: &Incoming<'_>) {
        let mut last = self.lag_checked.lock().expect("lag clock");
        if last.is_some_and(|t: std::time::Instant| t.elapsed() < Duration::from_secs(5)) {
            return;
        }
        *last = Some(std::time::Instant::now());
        let watermarks = self.consumer.fetch_watermarks(
            incoming.topic,
            incoming.partition,
            Duration::from_millis(500),
        );
        if let Ok((_, high)) = watermarks {
            let lag = (high - incoming.offset - 1).max(0);
            metrics::gauge!("consumer_lag", "consumer" => self.name, "topic" => incoming.topic.to_owned())
                .set(lag as f64);
        }
    }
}

/// The offsets to commit after `batch`: per partition, one past the last message handled.
fn next_offsets(batch: &[Incoming<'_>]) -> TopicPartitionList {
    let mut last = BTreeMap::new();
    for message in batch {
        let offset = last
            .entry((message.topic, message.partition))
            .or_insert(message.offset);
        *offset = (*offset).max(message.offset);
    }
    let mut list = TopicPartitionList::with_capacity(last.len());
    for ((topic, partition), offset) in last {
        list.add_partition_offset(topic, partition, Offset::Offset(offset + 1))
            .expect("a valid offset");
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(topic: &'static str, partition: i32, offset: i64) -> Incoming<'static> {
        Incoming {
            topic,
            partition,
            offset,
            key: None,
            payload: None,
            headers: None,
        }
    }

    #[test]
    fn commits_one_past_the_last_message_of_each_partition() {
        let batch = [
            message("a", 0, 7),
            message("b", 0, 3),
            message("a", 0, 8),
            message("b", 0, 4),
        ];
        let list = next_offsets(&batch);
        assert_eq!(list.count(), 2);
        assert_eq!(
            list.find_partition("a", 0).unwrap().offset(),
            Offset::Offset(9)
        );
        assert_eq!(
            list.find_partition("b", 0).unwrap().offset(),
            Offset::Offset(5)
        );
    }
}
