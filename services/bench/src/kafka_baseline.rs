//! The relay's baseline: the same keys, payloads and headers, sent by a bare producer with the
//! relay's producer settings (no database, no batching by the application). Either as fast as
//! it can with up to `--in-flight` deliveries outstanding, or (`--rate`) at a steady rate,
//! measuring each record's send → acknowledgement latency.

use crate::{events_file, per_second, quantile, TopicArgs};
use futures::stream::{FuturesUnordered, StreamExt};
use rdkafka::{
    message::{Header, OwnedHeaders},
    producer::{FutureProducer, FutureRecord},
};
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    to: TopicArgs,
    /// TSV events file (key, payload).
    #[arg(long)]
    input: PathBuf,
    #[arg(long, default_value_t = 5)]
    linger_ms: u64,
    #[arg(long, default_value_t = 10_000)]
    in_flight: usize,
    /// Records per second; without it, as fast as possible.
    #[arg(long)]
    rate: Option<f64>,
    /// How long to send at `--rate` (the events file is cycled).
    #[arg(long, default_value_t = 20)]
    duration_secs: u64,
    /// Partitions of the topic, if this creates it.
    #[arg(long, default_value_t = 1)]
    partitions: i32,
}

/// One record to send: the relay's key and payload, and its `id` and `type` headers.
struct Outgoing {
    key: String,
    payload: String,
    id: String,
    event_type: String,
}

impl Outgoing {
    fn record<'a>(&'a self, topic: &'a str) -> FutureRecord<'a, String, String> {
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "id",
                value: Some(&self.id),
            })
            .insert(Header {
                key: "type",
                value: Some(&self.event_type),
            });
        FutureRecord::to(topic)
            .key(&self.key)
            .payload(&self.payload)
            .headers(headers)
    }
}

fn outgoing(events: Vec<events_file::Event>) -> anyhow::Result<Vec<Outgoing>> {
    events
        .into_iter()
        .map(|e| {
            let v: serde_json::Value = serde_json::from_str(&e.payload)?;
            let field = |name: &str| v[name].as_str().unwrap_or_default().to_owned();
            Ok(Outgoing {
                id: field("id"),
                event_type: field("type"),
                key: e.key,
                payload: e.payload,
            })
        })
        .collect()
}

pub async fn run(args: Args) -> anyhow::Result<serde_json::Value> {
    let events = outgoing(events_file::read(&args.input)?)?;
    anyhow::ensure!(
        !events.is_empty(),
        "{} holds no events",
        args.input.display()
    );
    let kafka = kafka::KafkaArgs::new(&args.to.bootstrap).with_topic_partitions(args.partitions);
    kafka.ensure_topics(&[args.to.topic.as_str()]).await?;
    let producer = kafka.idempotent_producer(
        Duration::from_secs(30),
        Duration::from_millis(args.linger_ms),
    )?;
    // One acknowledged warm-up record first, so that connecting and acquiring the idempotent
    // producer id are not timed (the relay's drain is timed from its first progress too).
    check(
        producer
            .send(events[0].record(&args.to.topic), Duration::from_secs(30))
            .await,
    )?;
    match args.rate {
        None => as_fast_as_possible(&args, &producer, &events).await,
        Some(rate) => paced(&args, &producer, &events, rate).await,
    }
}

async fn as_fast_as_possible(
    args: &Args,
    producer: &FutureProducer,
    events: &[Outgoing],
) -> anyhow::Result<serde_json::Value> {
    eprintln!(
        "producing {} events to {} (bare producer)",
        events.len(),
        args.to.topic
    );
    let start = Instant::now();
    let mut pending = FuturesUnordered::new();
    let mut acked = 0usize;
    for event in events {
        if pending.len() >= args.in_flight {
            if let Some(result) = pending.next().await {
                check(result)?;
                acked += 1;
            }
        }
        pending.push(producer.send(event.record(&args.to.topic), Duration::from_secs(30)));
    }
    while let Some(result) = pending.next().await {
        check(result)?;
        acked += 1;
    }
    let seconds = start.elapsed().as_secs_f64();
    Ok(json!({
        "events": acked,
        "seconds": seconds,
        "events_per_sec": per_second(acked as f64, seconds),
        "linger_ms": args.linger_ms,
        "in_flight": args.in_flight,
    }))
}

async fn paced(
    args: &Args,
    producer: &FutureProducer,
    events: &[Outgoing],
    rate: f64,
) -> anyhow::Result<serde_json::Value> {
    let total = (rate * args.duration_secs as f64).round() as usize;
    eprintln!(
        "producing {total} events to {} at {rate}/s (bare producer)",
        args.to.topic
    );
    let interval = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let start = Instant::now();
    let mut pending = FuturesUnordered::new();
    let mut latencies = Vec::with_capacity(total);
    for (i, event) in events.iter().cycle().take(total).enumerate() {
        let due = start + interval.mul_f64(i as f64);
        // Collect acknowledgements while waiting for the next send time.
        loop {
            tokio::select! {
                biased;
                _ = tokio::time::sleep_until(due.into()) => break,
                Some((sent, result)) = pending.next() => {
                    check(result)?;
                    latencies.push(Instant::now().duration_since(sent).as_secs_f64() * 1000.0);
                }
            }
        }
        let sent = Instant::now();
        let delivery = producer.send(event.record(&args.to.topic), Duration::from_secs(30));
        pending.push(async move { (sent, delivery.await) });
    }
    while let Some((sent, result)) = pending.next().await {
        check(result)?;
        latencies.push(Instant::now().duration_since(sent).as_secs_f64() * 1000.0);
    }
    let seconds = start.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    Ok(json!({
        "events": latencies.len(),
        "rate": rate,
        "achieved_rate": per_second(latencies.len() as f64, seconds),
        "p50_ms": quantile(&latencies, 0.5),
        "p99_ms": quantile(&latencies, 0.99),
        "max_ms": latencies.last(),
        "linger_ms": args.linger_ms,
    }))
}

fn check<T>(
    result: Result<T, (rdkafka::error::KafkaError, rdkafka::message::OwnedMessage)>,
) -> anyhow::Result<()> {
    result
        .map(|_| ())
        .map_err(|(e, _)| anyhow::anyhow!("delivery failed: {e}"))
}
