//! Waiting for a stage to finish: a Prometheus counter reaching N (the relay's
//! `relay_published_total`) or a collection holding N documents (the replicator's read model).
//! Both report the time from the start of the wait and from the first progress seen, so that a
//! consumer-group join or a startup does not count as throughput.

use crate::per_second;
use mongodb::bson::{doc, Document};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct MetricArgs {
    /// The /metrics URL; repeated, the sum over every instance (of one consumer group, say).
    #[arg(long, required = true)]
    url: Vec<String>,
    #[arg(long)]
    name: String,
    #[arg(long)]
    target: f64,
    #[arg(long, default_value_t = 1800)]
    timeout_secs: u64,
}

#[derive(Debug, clap::Args)]
pub struct CountArgs {
    #[arg(long)]
    uri: String,
    #[arg(long)]
    database: String,
    #[arg(long)]
    collection: String,
    #[arg(long)]
    target: u64,
    #[arg(long, default_value_t = 1800)]
    timeout_secs: u64,
}

pub async fn metric(args: MetricArgs) -> anyhow::Result<Value> {
    let http = reqwest::Client::new();
    let name = args.name.clone();
    let urls = args.url.clone();
    poll(&args.name, args.target, args.timeout_secs, || {
        let http = http.clone();
        let name = name.clone();
        let urls = urls.clone();
        async move {
            let mut sum = 0.0;
            for url in &urls {
                let text = http.get(url).send().await?.text().await?;
                sum += crate::prometheus::sum(&text, &name);
            }
            Ok(sum)
        }
    })
    .await
}

pub async fn count(args: CountArgs) -> anyhow::Result<Value> {
    let client = mongodb::Client::with_uri_str(&args.uri).await?;
    let collection = client
        .database(&args.database)
        .collection::<Document>(&args.collection);
    let what = format!("{}.{} documents", args.database, args.collection);
    poll(&what, args.target as f64, args.timeout_secs, || {
        let collection = collection.clone();
        async move { Ok(collection.count_documents(doc! {}).await? as f64) }
    })
    .await
}

async fn poll<F, Fut>(what: &str, target: f64, timeout_secs: u64, read: F) -> anyhow::Result<Value>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<f64>>,
{
    let start = Instant::now();
    let deadline = start + Duration::from_secs(timeout_secs);
    let mut first: Option<(Instant, f64)> = None;
    let mut next_report = start + Duration::from_secs(5);
    loop {
        let value = read().await.unwrap_or(0.0);
        let now = Instant::now();
        if value > 0.0 && first.is_none() {
            first = Some((now, value));
        }
        if value >= target {
            let total = now.duration_since(start).as_secs_f64();
            let (t0, v0) = first.unwrap_or((start, 0.0));
            let active = now.duration_since(t0).as_secs_f64();
            return Ok(json!({
                "target": target,
                "seconds_total": total,
                "seconds_from_first_progress": active,
                "per_sec_total": per_second(value, total),
                // Everything arrived before the first sample: only the total time is known.
                "per_sec": if value > v0 {
                    per_second(value - v0, active)
                } else {
                    per_second(value, total)
                },
            }));
        }
        if now >= deadline {
            anyhow::bail!(
                "timed out after {timeout_secs}s waiting for {what}: {value} of {target}"
            );
        }
        if now >= next_report {
            eprintln!(
                "  {what}: {value} of {target} ({:.0}s)",
                now.duration_since(start).as_secs_f64()
            );
            next_report = now + Duration::from_secs(5);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
