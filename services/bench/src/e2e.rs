//! End to end: `POST /api/v1/customers` at a steady (open-loop) rate; for every 201 the id and
//! the instant of the response go to a watcher that polls MongoDB (`_id $in` the pending ids,
//! every `--poll-ms`) and records when each document becomes visible. The latency therefore
//! includes up to one poll interval.
//!
//! "Sustained" is coarse: nearly every request succeeded at nearly the asked rate, every
//! document arrived within the settle time, and the backlog of not-yet-visible documents at the
//! end of the writing was not much larger than in the middle of it.

use crate::{per_second, quantile};
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The API's base URL, e.g. http://127.0.0.1:26001
    #[arg(long)]
    api: String,
    #[arg(long, env = "BENCH_TOKEN", hide_env_values = true)]
    token: Option<String>,
    #[arg(long)]
    mongo_uri: String,
    #[arg(long)]
    database: String,
    #[arg(long, default_value = "customers")]
    collection: String,
    /// Writes per second.
    #[arg(long)]
    rate: f64,
    #[arg(long, default_value_t = 20)]
    duration_secs: u64,
    /// How long to wait after the last write for the remaining documents.
    #[arg(long, default_value_t = 30)]
    settle_secs: u64,
    #[arg(long, default_value_t = 10)]
    poll_ms: u64,
}

pub async fn run(args: Args) -> anyhow::Result<Value> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    let mongo = mongodb::Client::with_uri_str(&args.mongo_uri).await?;
    let collection = mongo
        .database(&args.database)
        .collection::<Document>(&args.collection);
    let (tx, rx) = mpsc::unbounded_channel::<(String, Instant)>();
    let errors = Arc::new(AtomicU64::new(0));
    let run_tag = uuid::Uuid::new_v4().simple().to_string();
    let watcher = tokio::spawn(watch(
        collection,
        rx,
        Duration::from_millis(args.poll_ms),
        Duration::from_secs(args.duration_secs),
        Duration::from_secs(args.settle_secs),
    ));

    eprintln!(
        "  e2e: {} writes/s for {}s against {}",
        args.rate, args.duration_secs, args.api
    );
    let url = format!("{}/api/v1/customers", args.api.trim_end_matches('/'));
    let interval = Duration::from_secs_f64(1.0 / args.rate.max(0.001));
    let total = (args.rate * args.duration_secs as f64).round() as u64;
    let start = Instant::now();
    let mut requests = Vec::with_capacity(total as usize);
    for i in 0..total {
        let due = start + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due.into()).await;
        let body = json!({
            "name": format!("Bench {i}"),
            "email": format!("e2e-{run_tag}-{i}@bench.example"),
        });
        let mut request = http.post(&url).json(&body);
        if let Some(token) = &args.token {
            request = request.bearer_auth(token);
        }
        let tx = tx.clone();
        let errors = errors.clone();
        requests.push(tokio::spawn(async move {
            match request.send().await {
                Ok(r) if r.status().as_u16() == 201 => {
                    let at = Instant::now();
                    if let Ok(v) = r.json::<Value>().await {
                        if let Some(id) = v.get("id").and_then(Value::as_str) {
                            let _ = tx.send((id.to_owned(), at));
                            return;
                        }
                    }
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                _ => {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for r in requests {
        let _ = r.await;
    }
    let writing = start.elapsed().as_secs_f64();
    drop(tx);
    let seen = watcher.await??;
    let ok = seen.sent;
    let mut latencies = seen.latencies_ms;
    latencies.sort_by(f64::total_cmp);
    let errors = errors.load(Ordering::Relaxed);
    let achieved = per_second(ok as f64, writing);
    let missing = ok - latencies.len() as u64;
    let sustained = errors as f64 <= 0.01 * total as f64
        && achieved >= 0.9 * args.rate
        && missing == 0
        && seen.backlog_end <= (2 * seen.backlog_mid).max((args.rate / 2.0).ceil() as u64);
    Ok(json!({
        "rate": args.rate,
        "duration_secs": args.duration_secs,
        "requests": total,
        "created": ok,
        "errors": errors,
        "achieved_rate": achieved,
        "visible": latencies.len(),
        "missing": missing,
        "p50_ms": quantile(&latencies, 0.5),
        "p99_ms": quantile(&latencies, 0.99),
        "max_ms": latencies.last(),
        "backlog_mid": seen.backlog_mid,
        "backlog_end": seen.backlog_end,
        "poll_ms": args.poll_ms,
        "sustained": sustained,
    }))
}

struct Seen {
    sent: u64,
    latencies_ms: Vec<f64>,
    /// Not-yet-visible documents halfway through the writing, and when the writing ended.
    backlog_mid: u64,
    backlog_end: u64,
}

async fn watch(
    collection: mongodb::Collection<Document>,
    mut rx: mpsc::UnboundedReceiver<(String, Instant)>,
    poll: Duration,
    duration: Duration,
    settle: Duration,
) -> anyhow::Result<Seen> {
    let start = Instant::now();
    let mid = start + duration / 2;
    let mut pending: HashMap<String, Instant> = HashMap::new();
    let mut seen = Seen {
        sent: 0,
        latencies_ms: Vec::new(),
        backlog_mid: 0,
        backlog_end: 0,
    };
    let mut mid_taken = false;
    let mut closed_at: Option<Instant> = None;
    loop {
        loop {
            match rx.try_recv() {
                Ok((id, at)) => {
                    seen.sent += 1;
                    pending.insert(id, at);
                }
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    if closed_at.is_none() {
                        closed_at = Some(Instant::now());
                        seen.backlog_end = pending.len() as u64;
                    }
                    break;
                }
            }
        }
        if !mid_taken && Instant::now() >= mid {
            mid_taken = true;
            seen.backlog_mid = pending.len() as u64;
        }
        let ids: Vec<String> = pending.keys().take(2000).cloned().collect();
        if !ids.is_empty() {
            let found: Vec<Document> = collection
                .find(doc! {"_id": {"$in": ids}})
                .projection(doc! {"_id": 1})
                .await?
                .try_collect()
                .await?;
            let now = Instant::now();
            for d in found {
                if let Ok(id) = d.get_str("_id") {
                    if let Some(at) = pending.remove(id) {
                        seen.latencies_ms
                            .push(now.duration_since(at).as_secs_f64() * 1000.0);
                    }
                }
            }
        }
        if let Some(closed) = closed_at {
            if pending.is_empty() || closed.elapsed() >= settle {
                return Ok(seen);
            }
        }
        tokio::time::sleep(poll).await;
    }
}
