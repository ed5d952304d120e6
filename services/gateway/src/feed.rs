//! The live event feed behind the console's live panel: the gateway reads the platform's event
//! topics and fans every change out to whoever watches `/api/v1/events/stream`.
//!
//! It is a window, not a consumer of record: it joins no consumer group and commits nothing.
//! At start it `assign`s every partition of its topics at the current end (the high watermark,
//! resolved before it reports itself up), so it shows what happens from then on, once, and a
//! gateway restart simply starts watching again. A tokio broadcast channel carries each
//! decoded event to every open stream; a watcher too slow to keep up is told how many it
//! missed instead of holding the others back.
//!
//! The feed is optional: the gateway starts and serves everything else while Kafka is down,
//! keeps retrying in the background, and `/health` says how the feed is doing.

use codec::EventDecoder;
use kafka::KafkaArgs;
use rdkafka::{
    consumer::{Consumer, StreamConsumer},
    message::BorrowedMessage,
    Message, Offset, TopicPartitionList,
};
use runtime::Shutdown;
use serde_json::{json, Map, Value};
use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};
use tokio::sync::broadcast;

/// Events kept for a watcher that has not read them yet; beyond that it is told it lagged.
const CHANNEL_CAPACITY: usize = 1024;
/// How long one broker round trip of the feed (metadata, watermarks, topic creation) may take.
const BROKER_TIMEOUT: Duration = Duration::from_secs(5);
/// Backoff between attempts to reach a broker that is down.
const RETRY_MIN: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(15);

/// Where the feed reads from.
#[derive(Debug, Clone)]
pub struct FeedSettings {
    pub kafka: KafkaArgs,
    /// Full topic names (prefix included); empty turns the feed off.
    pub topics: Vec<String>,
    pub schema_registry_url: String,
}

/// One change as the live panel shows it, serialized once for every watcher.
#[derive(Debug, Clone)]
pub struct LiveEvent {
    /// The change event's own id.
    pub id: String,
    /// The JSON message (see [`live_event`]).
    pub json: Arc<str>,
}

#[derive(Debug, Clone)]
enum FeedState {
    Disabled,
    Connecting { last_error: Option<String> },
    Up,
}

/// A handle on the feed: subscribe to it, ask how it is.
#[derive(Clone)]
pub struct EventFeed(Arc<Inner>);

struct Inner {
    sender: broadcast::Sender<LiveEvent>,
    topics: Vec<String>,
    state: Mutex<FeedState>,
    consumer: OnceLock<Arc<StreamConsumer>>,
}

impl EventFeed {
    /// Starts reading `settings.topics` in the background until `shutdown`; returns at once.
    pub fn start(settings: FeedSettings, shutdown: Shutdown) -> Self {
        let enabled = !settings.topics.is_empty();
        let feed = Self::new(
            settings.topics.clone(),
            if enabled {
                FeedState::Connecting { last_error: None }
            } else {
                FeedState::Disabled
            },
        );
        if enabled {
            tokio::spawn(feed.clone().run(settings, shutdown));
        } else {
            tracing::info!("live event feed off (GATEWAY_EVENT_TOPICS=off)");
        }
        feed
    }

    fn new(topics: Vec<String>, state: FeedState) -> Self {
        let (sender, _) = broadcast::channel(CHANNEL_CAPACITY);
        Self(Arc::new(Inner {
            sender,
            topics,
            state: Mutex::new(state),
            consumer: OnceLock::new(),
        }))
    }

    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.0.sender.subscribe()
    }

    pub fn topics(&self) -> &[String] {
        &self.0.topics
    }

    fn set_state(&self, state: FeedState) {
        *self.0.state.lock().expect("feed state") = state;
    }

    fn state(&self) -> FeedState {
        self.0.state.lock().expect("feed state").clone()
    }

    /// The feed's entry in the gateway's `/health`: UP once it is positioned on its topics and
    /// the broker answers now, DOWN while it cannot reach the broker, DISABLED when turned off.
    pub async fn health(&self) -> Value {
        let topics = self.topics();
        let watchers = self.0.sender.receiver_count();
        match self.state() {
            FeedState::Disabled => json!({"status": "DISABLED"}),
            FeedState::Connecting { last_error } => json!({
                "status": "DOWN",
                "topics": topics,
                "reason": last_error.unwrap_or_else(|| "connecting to Kafka".to_owned()),
            }),
            FeedState::Up => {
                let consumer = self.0.consumer.get().cloned();
                let probe = tokio::task::spawn_blocking(move || {
                    consumer.map(|c| c.fetch_metadata(None, Duration::from_secs(2)).map(|_| ()))
                })
                .await;
                match probe {
                    Ok(Some(Ok(()))) => {
                        json!({"status": "UP", "topics": topics, "watchers": watchers})
                    }
                    Ok(Some(Err(e))) => json!({
                        "status": "DOWN",
                        "topics": topics,
                        "reason": format!("Kafka does not answer: {e}"),
                    }),
                    _ => json!({"status": "DOWN", "topics": topics, "reason": "no consumer"}),
                }
            }
        }
    }

    async fn run(self, settings: FeedSettings, shutdown: Shutdown) {
        let decoder = EventDecoder::new(&settings.schema_registry_url);
        let mut attempt = 0u32;
        let consumer = loop {
            let connected = tokio::select! {
                _ = shutdown.requested() => return,
                connected = tokio::time::timeout(4 * BROKER_TIMEOUT, connect(&settings)) => connected,
            };
            let error = match connected {
                Ok(Ok(consumer)) => break consumer,
                Ok(Err(e)) => e,
                Err(_) => "no answer from Kafka in time".to_owned(),
            };
            let delay = (RETRY_MIN * 2u32.saturating_pow(attempt)).min(RETRY_MAX);
            attempt = attempt.saturating_add(1);
            tracing::warn!(%error, retry_in_ms = delay.as_millis() as u64,
                "live event feed cannot reach Kafka; the gateway serves everything else meanwhile");
            self.set_state(FeedState::Connecting {
                last_error: Some(error),
            });
            tokio::select! {
                _ = shutdown.requested() => return,
                _ = tokio::time::sleep(delay) => {}
            }
        };
        let _ = self.0.consumer.set(consumer.clone());
        self.set_state(FeedState::Up);
        tracing::info!(topics = ?settings.topics, "live event feed watching");
        loop {
            let message = tokio::select! {
                _ = shutdown.requested() => break,
                message = consumer.recv() => message,
            };
            match message {
                Ok(message) => {
                    if let Some(event) = self.decode(&decoder, &message).await {
                        // No watcher is not an error: the event is simply not shown to anyone.
                        let _ = self.0.sender.send(event);
                    }
                }
                Err(e) => tracing::debug!(error = %e, "live event feed: receive failed"),
            }
        }
        tracing::info!("live event feed stopped");
    }

    async fn decode(
        &self,
        decoder: &EventDecoder,
        message: &BorrowedMessage<'_>,
    ) -> Option<LiveEvent> {
        // A tombstone (no value) follows a delete for log compaction; the delete was shown.
        message.payload()?;
        let key = message
            .key()
            .map(|k| String::from_utf8_lossy(k).into_owned());
        match decoder.decode_json(message.payload()).await {
            Ok(event) => {
                let Some(id) = sse_id(&event) else {
                    tracing::warn!(topic = message.topic(), offset = message.offset(),
                        "live event feed: skipping an event whose id cannot be an SSE id (CR, LF or NUL)");
                    return None;
                };
                let json = live_event(message.topic(), key.as_deref(), &event);
                Some(LiveEvent {
                    id,
                    json: json.to_string().into(),
                })
            }
            // The feed is a window: it never waits for a registry, it reports and moves on.
            Err(e) => {
                tracing::warn!(topic = message.topic(), offset = message.offset(), error = %e,
                    "live event feed: skipping an event it cannot decode");
                None
            }
        }
    }
}

/// Creates missing topics (so that positioning at their end cannot miss the first events),
/// then assigns every partition at its current high watermark.
async fn connect(settings: &FeedSettings) -> Result<Arc<StreamConsumer>, String> {
    let names: Vec<&str> = settings.topics.iter().map(String::as_str).collect();
    settings
        .kafka
        .ensure_topics(&names)
        .await
        .map_err(|e| e.to_string())?;
    // No group is joined (assign, not subscribe) and nothing is committed; the id only has to
    // be unique so that no two gateways ever share anything on the broker.
    let group = format!("gateway-live-{}", uuid::Uuid::new_v4().simple());
    let consumer = Arc::new(
        settings
            .kafka
            .consumer(&group, false)
            .map_err(|e| e.to_string())?,
    );
    let topics = settings.topics.clone();
    let positioned = consumer.clone();
    tokio::task::spawn_blocking(move || -> Result<(), String> {
        let mut assignment = TopicPartitionList::new();
        for topic in &topics {
            let metadata = positioned
                .fetch_metadata(Some(topic), BROKER_TIMEOUT)
                .map_err(|e| format!("metadata of {topic}: {e}"))?;
            let partitions: Vec<i32> = metadata
                .topics()
                .iter()
                .filter(|t| t.name() == topic)
                .flat_map(|t| t.partitions().iter().map(|p| p.id()))
                .collect();
            if partitions.is_empty() {
                return Err(format!("topic {topic} has no partitions yet"));
            }
            for partition in partitions {
                let (_, high) = positioned
                    .fetch_watermarks(topic, partition, BROKER_TIMEOUT)
                    .map_err(|e| format!("end offset of {topic}/{partition}: {e}"))?;
                assignment
                    .add_partition_offset(topic, partition, Offset::Offset(high))
                    .map_err(|e| e.to_string())?;
            }
        }
        positioned.assign(&assignment).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| format!("positioning the feed: {e}"))??;
    Ok(consumer)
}

/// The message a watcher receives for `event` (a change event as JSON) read from `topic`.
pub fn live_event(topic: &str, key: Option<&str>, event: &Value) -> Value {
    let before = event.get("before").cloned().unwrap_or(Value::Null);
    let after = event.get("after").cloned().unwrap_or(Value::Null);
    json!({
        "id": event.get("id"),
        "topic": topic,
        "key": key,
        "op": event.get("op"),
        "type": event.get("type"),
        "aggregate_type": event.get("aggregate_type"),
        "aggregate_id": event.get("aggregate_id"),
        "version": event.get("version"),
        "occurred_at": event.get("occurred_at"),
        "diff": diff(&before, &after),
        "before": before,
        "after": after,
    })
}

/// Every field whose value differs between the two row images, as `{field: [old, new]}`
/// (`null` for a side that has no such field or no row at all).
pub fn diff(before: &Value, after: &Value) -> Map<String, Value> {
    let empty = Map::new();
    let before = before.as_object().unwrap_or(&empty);
    let after = after.as_object().unwrap_or(&empty);
    let fields: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    fields
        .into_iter()
        .filter_map(|field| {
            let old = before.get(field).unwrap_or(&Value::Null);
            let new = after.get(field).unwrap_or(&Value::Null);
            (old != new).then(|| (field.clone(), json!([old, new])))
        })
        .collect()
}

/// The event's id as an SSE `id` line, or `None` when it holds CR, LF or NUL: SSE cannot
/// carry them (axum refuses with a panic, which would end every open stream).
fn sse_id(event: &Value) -> Option<String> {
    let id = event["id"].as_str().unwrap_or_default();
    (!id.contains(['\r', '\n', '\0'])).then(|| id.to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_id_with_cr_lf_or_nul_is_no_sse_id() {
        use serde_json::json;
        assert_eq!(super::sse_id(&json!({"id": "e1"})).as_deref(), Some("e1"));
        for bad in ["a\nb", "a\rb", "a\u{0}b"] {
            assert_eq!(super::sse_id(&json!({"id": bad})), None, "{bad:?}");
        }
    }

    use super::*;

    #[test]
    fn the_diff_names_each_changed_field_with_old_and_new() {
        let before = json!({"name": "Ada", "email": "a@x.io", "phone": null, "version": 1});
        let after = json!({"name": "Ada L.", "email": "a@x.io", "phone": "+1 5", "version": 2});
        assert_eq!(
            Value::Object(diff(&before, &after)),
            json!({"name": ["Ada", "Ada L."], "phone": [null, "+1 5"], "version": [1, 2]})
        );
    }

    #[test]
    fn a_create_or_delete_diffs_against_nothing() {
        let row = json!({"name": "Ada", "version": 1});
        assert_eq!(
            Value::Object(diff(&Value::Null, &row)),
            json!({"name": [null, "Ada"], "version": [null, 1]})
        );
        assert_eq!(
            Value::Object(diff(&row, &Value::Null)),
            json!({"name": ["Ada", null], "version": [1, null]})
        );
        assert!(diff(&row, &row).is_empty());
    }

    #[test]
    fn the_live_message_carries_the_envelope_and_the_diff() {
        let event = json!({
            "id": "e1", "type": "customer.updated", "op": "u", "aggregate_type": "customer",
            "aggregate_id": "c1", "version": 2, "occurred_at": "2026-01-01T00:00:00Z",
            "before": {"name": "Ada"}, "after": {"name": "Grace"},
        });
        let live = live_event("customers", Some("c1"), &event);
        assert_eq!(live["op"], "u");
        assert_eq!(live["topic"], "customers");
        assert_eq!(live["key"], "c1");
        assert_eq!(live["version"], 2);
        assert_eq!(live["type"], "customer.updated");
        assert_eq!(live["aggregate_id"], "c1");
        assert_eq!(live["diff"], json!({"name": ["Ada", "Grace"]}));
        assert_eq!(live["before"], json!({"name": "Ada"}));
        assert_eq!(live["after"], json!({"name": "Grace"}));
    }
}
