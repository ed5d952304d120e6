//! Sends a batch of outbox events to Kafka and reports how many of them, from the start of the
//! batch, the broker acknowledged.
//!
//! The whole batch is handed to librdkafka before any acknowledgement is awaited, so a batch
//! costs about one broker round trip, and the relay may enqueue later batches while an earlier
//! one is in flight. The producer (`KafkaArgs::ordered_producer`) keeps everything in order
//! within the partition even when it retries internally, and never lets a later message through
//! after an earlier one failed: the broker holds a prefix of what was sent. The caller marks
//! only the acknowledged prefix, so a partial failure is retried from the first unacknowledged
//! event, and after any failure it replaces the producer ([`Publisher::reset`]), which purges
//! whatever later batches were still queued.

use chrono::Utc;
use codec::EventEncoder;
use kafka::{KafkaArgs, KafkaError};
use outbox::PendingEvent;
use rdkafka::{
    message::{Header, OwnedHeaders},
    producer::{
        future_producer::OwnedDeliveryResult, DeliveryFuture, FutureProducer, FutureRecord,
    },
};
use std::{collections::HashSet, time::Duration};

pub struct Publisher {
    kafka: KafkaArgs,
    producer: FutureProducer,
    topic_prefix: String,
    delivery_timeout: Duration,
    linger: Duration,
    known_topics: HashSet<String>,
    /// Present in Avro mode.
    avro: Option<EventEncoder>,
}

/// The outcome of one batch.
#[derive(Debug)]
pub struct Published {
    /// Events acknowledged from the start of the batch; these may be marked published.
    pub acked: usize,
    /// Why the rest were not, if any were not.
    pub error: Option<String>,
}

impl Publisher {
    pub fn new(
        kafka: KafkaArgs,
        topic_prefix: String,
        delivery_timeout: Duration,
        linger: Duration,
    ) -> Result<Self, KafkaError> {
        let producer = kafka.ordered_producer(linger)?;
        Ok(Self {
            kafka,
            producer,
            topic_prefix,
            delivery_timeout,
            linger,
            known_topics: HashSet::new(),
            avro: None,
        })
    }

    /// Publishes Avro values through `encoder` instead of JSON.
    pub fn with_avro(mut self, encoder: EventEncoder) -> Self {
        self.avro = Some(encoder);
        self
    }

    /// After a failed batch: dropping the old producer purges every message it had not sent
    /// yet (so no later batch can overtake the failed one), and a fresh producer starts a new
    /// idempotence epoch instead of carrying over whatever state the failure left behind.
    pub fn reset(&mut self) -> Result<(), KafkaError> {
        self.producer = self.kafka.ordered_producer(self.linger)?;
        Ok(())
    }

    fn topic(&self, event: &PendingEvent) -> String {
        format!("{}{}", self.topic_prefix, event.topic)
    }

    async fn ensure_topics(&mut self, batch: &[PendingEvent]) -> Result<(), KafkaError> {
        let missing: Vec<String> = batch
            .iter()
            .map(|e| self.topic(e))
            .filter(|t| !self.known_topics.contains(t))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let names: Vec<&str> = missing.iter().map(String::as_str).collect();
        self.kafka.ensure_topics(&names).await?;
        self.known_topics.extend(missing);
        Ok(())
    }

    /// The record value of `event` in the configured format.
    async fn value(&self, event: &PendingEvent) -> Result<Vec<u8>, String> {
        match &self.avro {
            None => serde_json::to_vec(&event.payload).map_err(|e| e.to_string()),
            Some(encoder) => encoder
                .encode(&event.topic, &event.payload)
                .await
                .map_err(|e| e.to_string()),
        }
    }

    /// Hands `batch` to librdkafka without waiting for the broker. The caller may send further
    /// batches before it awaits this one's acknowledgements: the idempotent producer keeps
    /// everything enqueued in order within the partition.
    pub async fn send(&mut self, batch: Vec<PendingEvent>) -> InFlight {
        let deadline = tokio::time::Instant::now() + self.delivery_timeout;
        if let Err(e) = self.ensure_topics(&batch).await {
            return InFlight {
                deliveries: Vec::new(),
                error: Some(e.to_string()),
                batch,
                deadline,
            };
        }
        let mut deliveries = Vec::with_capacity(batch.len());
        let mut error = None;
        for event in &batch {
            let topic = self.topic(event);
            let payload = match self.value(event).await {
                Ok(p) => p,
                Err(e) => {
                    error = Some(format!(
                        "event {} cannot be serialized: {e}",
                        event.event_id
                    ));
                    break;
                }
            };
            let event_id = event.event_id.to_string();
            let headers = OwnedHeaders::new()
                .insert(Header {
                    key: "id",
                    value: Some(&event_id),
                })
                .insert(Header {
                    key: "type",
                    value: Some(&event.event_type),
                });
            let record = FutureRecord::to(&topic)
                .key(&event.aggregate_id)
                .payload(&payload)
                .headers(headers);
            match self.producer.send_result(record) {
                Ok(delivery) => deliveries.push(delivery),
                Err((e, _)) => {
                    error = Some(format!("enqueueing event {}: {e}", event.event_id));
                    break;
                }
            }
        }
        InFlight {
            batch,
            deliveries,
            error,
            deadline,
        }
    }
}

/// A batch handed to the producer whose acknowledgements have not been awaited yet.
pub struct InFlight {
    batch: Vec<PendingEvent>,
    /// One per event, from the start of the batch; shorter than the batch when enqueueing
    /// stopped at `error`.
    deliveries: Vec<DeliveryFuture>,
    error: Option<String>,
    /// When waiting for the broker counts as a failure (`RELAY_DELIVERY_TIMEOUT_MS` after the
    /// batch was handed over; librdkafka itself never expires a message, see `send`).
    deadline: tokio::time::Instant,
}

impl InFlight {
    pub fn events(&self) -> &[PendingEvent] {
        &self.batch
    }

    /// True when handing the batch over already failed: nothing after it may be sent.
    pub fn failed_to_send(&self) -> bool {
        self.error.is_some()
    }

    /// Waits (until the batch's deadline) for every acknowledgement and reports the
    /// acknowledged prefix.
    pub async fn acknowledged(self) -> Published {
        let mut acked = 0;
        let mut error = None;
        for (delivery, event) in self.deliveries.into_iter().zip(&self.batch) {
            let Ok(result) = tokio::time::timeout_at(self.deadline, delivery).await else {
                error.get_or_insert_with(|| {
                    format!("no acknowledgement of event {} in time", event.event_id)
                });
                break;
            };
            let result: Result<OwnedDeliveryResult, _> = result;
            match result {
                Ok(Ok(_)) if error.is_none() => {
                    acked += 1;
                    let latency = (Utc::now() - event.created_at).to_std().unwrap_or_default();
                    metrics::histogram!("relay_publish_latency_seconds")
                        .record(latency.as_secs_f64());
                }
                Ok(Ok(_)) => {}
                Ok(Err((e, _))) => {
                    error.get_or_insert_with(|| {
                        format!("broker rejected event {}: {e}", event.event_id)
                    });
                }
                Err(_) => {
                    error.get_or_insert_with(|| "producer dropped the delivery".to_owned());
                }
            }
        }
        Published {
            acked,
            error: error.or(self.error),
        }
    }
}
