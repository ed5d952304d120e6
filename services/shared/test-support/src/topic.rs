//! Reading a topic from the beginning, as a consumer of the platform would: every partition,
//! each in its own order.

use events::ChangeEvent;
use rdkafka::{
    config::ClientConfig,
    consumer::{BaseConsumer, Consumer, StreamConsumer},
    message::Headers,
    Message, Offset, TopicPartitionList,
};
use std::time::Duration;
use tokio::time::Instant;

/// One record as it sits in the topic.
#[derive(Debug, Clone)]
pub struct Record {
    pub partition: i32,
    pub offset: i64,
    pub key: String,
    pub event: ChangeEvent,
}

/// Waits (polling metadata) until `topic` exists, and returns its partitions.
async fn wait_for_topic(bootstrap: &str, topic: &str, deadline: Instant) -> Vec<i32> {
    let probe: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("creating a metadata client");
    loop {
        let found: Vec<i32> = probe
            .fetch_metadata(Some(topic), Duration::from_secs(2))
            .map(|m| {
                m.topics()
                    .iter()
                    .filter(|t| t.name() == topic && t.error().is_none())
                    .flat_map(|t| t.partitions().iter().map(|p| p.id()))
                    .collect()
            })
            .unwrap_or_default();
        if !found.is_empty() {
            return found;
        }
        assert!(Instant::now() < deadline, "topic {topic} was never created");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Creates `topics` with `partitions` partitions each (before any process of the test creates
/// them with its own default).
pub async fn create(bootstrap: &str, topics: &[String], partitions: i32) {
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    kafka::KafkaArgs::new(bootstrap)
        .with_topic_partitions(partitions)
        .ensure_topics(&names)
        .await
        .expect("creating the topics");
}

/// True once consumer group `group` has committed, on every partition of `topic`, the offset
/// past its last record: the group has applied everything the topic holds.
pub async fn group_caught_up(bootstrap: &str, group: &str, topic: &str) -> bool {
    let (bootstrap, group, topic) = (bootstrap.to_owned(), group.to_owned(), topic.to_owned());
    tokio::task::spawn_blocking(move || {
        let timeout = Duration::from_secs(5);
        // Reads the group's offsets without joining it (no subscribe), so nothing rebalances.
        let client: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("group.id", &group)
            .set("enable.auto.commit", "false")
            .create()
            .expect("creating an offsets client");
        let Ok(metadata) = client.fetch_metadata(Some(&topic), timeout) else {
            return false;
        };
        let mut partitions = TopicPartitionList::new();
        for t in metadata.topics().iter().filter(|t| t.name() == topic) {
            for p in t.partitions() {
                partitions.add_partition(&topic, p.id());
            }
        }
        let Ok(committed) = client.committed_offsets(partitions, timeout) else {
            return false;
        };
        committed.count() > 0
            && committed.elements().iter().all(|p| {
                let Ok((low, high)) = client.fetch_watermarks(&topic, p.partition(), timeout)
                else {
                    return false;
                };
                match p.offset() {
                    Offset::Offset(done) => done >= high,
                    _ => high == low,
                }
            })
    })
    .await
    .expect("the offsets check does not panic")
}

/// A record as it sits in any topic (dead letters and failure reports included).
#[derive(Debug, Clone)]
pub struct RawRecord {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<String>,
    pub payload: Vec<u8>,
    pub headers: std::collections::HashMap<String, String>,
}

impl RawRecord {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.payload).expect("a JSON record value")
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("header {name} missing from {self:?}"))
    }
}

/// Reads `topic` (every partition, from offset 0) until `done` says the records so far suffice,
/// then returns them all: each partition's records in order, partitions interleaved. Panics
/// with what it did read if `timeout` passes first.
pub async fn read_raw_until(
    bootstrap: &str,
    topic: &str,
    timeout: Duration,
    done: impl Fn(&[RawRecord]) -> bool,
) -> Vec<RawRecord> {
    let deadline = Instant::now() + timeout;
    let partition_ids = wait_for_topic(bootstrap, topic, deadline).await;
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", crate::unique("test-reader"))
        .set("enable.auto.commit", "false")
        .create()
        .expect("creating a test consumer");
    let mut partitions = TopicPartitionList::new();
    for partition in partition_ids {
        partitions
            .add_partition_offset(topic, partition, Offset::Beginning)
            .expect("adding a partition");
    }
    consumer
        .assign(&partitions)
        .expect("assigning the partitions");
    let mut records = Vec::new();
    while !done(&records) {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let message = match tokio::time::timeout(remaining, consumer.recv()).await {
            Err(_) => panic!(
                "timed out after {timeout:?} reading {topic}; got {} records: {records:#?}",
                records.len()
            ),
            Ok(Err(e)) => {
                eprintln!("test consumer: {e}");
                continue;
            }
            Ok(Ok(m)) => m,
        };
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        let headers = message
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| (h.key.to_owned(), text(h.value.unwrap_or_default())))
                    .collect()
            })
            .unwrap_or_default();
        records.push(RawRecord {
            partition: message.partition(),
            offset: message.offset(),
            key: message.key().map(text),
            payload: message.payload().unwrap_or_default().to_vec(),
            headers,
        });
    }
    records
}

/// The first `count` records of `topic`.
pub async fn read_raw(
    bootstrap: &str,
    topic: &str,
    count: usize,
    timeout: Duration,
) -> Vec<RawRecord> {
    read_raw_until(bootstrap, topic, timeout, |records| records.len() >= count).await
}

fn parse(raw: &RawRecord) -> Record {
    let event: ChangeEvent = serde_json::from_slice(&raw.payload)
        .unwrap_or_else(|e| panic!("record at offset {} is not a change event: {e}", raw.offset));
    Record {
        partition: raw.partition,
        offset: raw.offset,
        key: raw.key.clone().unwrap_or_default(),
        event,
    }
}

/// Like [`read_raw_until`] for a topic of change events.
pub async fn read_until(
    bootstrap: &str,
    topic: &str,
    timeout: Duration,
    done: impl Fn(&[Record]) -> bool,
) -> Vec<Record> {
    let parsed = std::cell::RefCell::new(Vec::new());
    read_raw_until(bootstrap, topic, timeout, |raw| {
        let mut parsed = parsed.borrow_mut();
        let seen = parsed.len();
        parsed.extend(raw[seen..].iter().map(parse));
        done(&parsed)
    })
    .await;
    parsed.into_inner()
}

/// The events of one aggregate, once `count` of them have arrived.
pub async fn events_for(
    bootstrap: &str,
    topic: &str,
    key: &str,
    count: usize,
    timeout: Duration,
) -> Vec<ChangeEvent> {
    read_until(bootstrap, topic, timeout, |records| {
        records.iter().filter(|r| r.key == key).count() >= count
    })
    .await
    .into_iter()
    .filter(|r| r.key == key)
    .map(|r| r.event)
    .collect()
}

/// Produces raw records (as an upstream service or a misbehaving one would) and waits for the
/// broker's acknowledgement of each. Creates the topic if needed.
pub async fn produce(bootstrap: &str, topic: &str, records: &[(String, Vec<u8>)]) {
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let kafka = kafka::KafkaArgs::new(bootstrap);
    kafka
        .ensure_topics(&[topic])
        .await
        .expect("creating the topic");
    let producer: FutureProducer = kafka
        .idempotent_producer(Duration::from_secs(30), Duration::ZERO)
        .expect("a producer");
    for (key, payload) in records {
        producer
            .send(
                FutureRecord::to(topic).key(key).payload(payload),
                Duration::from_secs(30),
            )
            .await
            .unwrap_or_else(|(e, _)| panic!("producing to {topic}: {e}"));
    }
}

/// Deletes `topic` (the broker removes it asynchronously; metadata may show it a little longer).
pub async fn delete_topic(bootstrap: &str, topic: &str) {
    use rdkafka::admin::{AdminClient, AdminOptions};
    use rdkafka::client::DefaultClientContext;
    let admin: AdminClient<DefaultClientContext> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("an admin client");
    let results = admin
        .delete_topics(&[topic], &AdminOptions::new())
        .await
        .unwrap_or_else(|e| panic!("deleting {topic}: {e}"));
    for result in results {
        result.unwrap_or_else(|(t, code)| panic!("deleting {t}: {code}"));
    }
}

/// Produces change events keyed by aggregate id.
pub async fn produce_events(bootstrap: &str, topic: &str, events: &[ChangeEvent]) {
    let records: Vec<(String, Vec<u8>)> = events
        .iter()
        .map(|e| {
            (
                e.aggregate_id.clone(),
                serde_json::to_vec(e).expect("serializing an event"),
            )
        })
        .collect();
    produce(bootstrap, topic, &records).await
}

/// The versions of aggregate `key` in topic order, each counted at its first occurrence: an
/// at-least-once re-send of a version already seen is dropped, so per-key order holds exactly
/// when this is `1, 2, 3, ...`.
pub fn first_occurrences(records: &[Record], key: &str) -> Vec<i64> {
    let mut seen = std::collections::HashSet::new();
    records
        .iter()
        .filter(|r| r.key == key && seen.insert(r.event.version))
        .map(|r| r.event.version)
        .collect()
}

/// The lag of `group` on each of `topics`, as the gateway reports it (`kafka::groups`).
pub async fn group_lag(
    bootstrap: &str,
    group: &str,
    topics: &[String],
) -> Vec<kafka::groups::TopicLag> {
    kafka::KafkaArgs::new(bootstrap)
        .group_lag(group, topics)
        .await
        .unwrap_or_else(|e| panic!("the lag of group {group}: {e}"))
}

/// Waits until `group` has handled everything `topics` hold: no lag on any partition (a group
/// with nothing committed lags by all a partition holds).
pub async fn wait_until_caught_up(bootstrap: &str, group: &str, topics: &[String], wait: Duration) {
    crate::eventually(
        &format!("group {group} to catch up on {topics:?}"),
        wait,
        || async {
            let lags = group_lag(bootstrap, group, topics).await;
            lags.iter().all(|t| t.lag == 0).then_some(())
        },
    )
    .await
}
