//! The relay's baseline: the same payloads and keys, sent by a bare producer with the relay's
//! producer settings, with up to `--in-flight` deliveries outstanding (no database, no batching
//! by the application).

use crate::{events_file, per_second};
use futures::stream::{FuturesUnordered, StreamExt};
use rdkafka::producer::FutureRecord;
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long)]
    bootstrap: String,
    #[arg(long)]
    topic: String,
    /// TSV events file (key, payload).
    #[arg(long)]
    input: PathBuf,
    #[arg(long, default_value_t = 5)]
    linger_ms: u64,
    #[arg(long, default_value_t = 10_000)]
    in_flight: usize,
}

pub async fn run(args: Args) -> anyhow::Result<serde_json::Value> {
    let events = events_file::read(&args.input)?;
    let kafka = kafka::KafkaArgs::new(&args.bootstrap);
    kafka.ensure_topics(&[args.topic.as_str()]).await?;
    let producer = kafka.idempotent_producer(
        Duration::from_secs(30),
        Duration::from_millis(args.linger_ms),
    )?;
    eprintln!(
        "producing {} events to {} (bare producer)",
        events.len(),
        args.topic
    );
    // One acknowledged warm-up record first, so that connecting and acquiring the idempotent
    // producer id are not timed (the relay's drain is timed from its first progress too).
    if let Some(first) = events.first() {
        let warm_up = FutureRecord::to(&args.topic)
            .key(&first.key)
            .payload(&first.payload);
        check(producer.send(warm_up, Duration::from_secs(30)).await)?;
    }
    let start = Instant::now();
    let mut pending = FuturesUnordered::new();
    let mut acked = 0usize;
    for event in &events {
        if pending.len() >= args.in_flight {
            if let Some(result) = pending.next().await {
                check(result)?;
                acked += 1;
            }
        }
        let record = FutureRecord::to(&args.topic)
            .key(&event.key)
            .payload(&event.payload);
        pending.push(producer.send(record, Duration::from_secs(30)));
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

fn check<T>(
    result: Result<T, (rdkafka::error::KafkaError, rdkafka::message::OwnedMessage)>,
) -> anyhow::Result<()> {
    result
        .map(|_| ())
        .map_err(|(e, _)| anyhow::anyhow!("delivery failed: {e}"))
}
