//! Reads back what a publisher (our relay, or Debezium's outbox router) delivered to a topic and
//! checks it against the outbox: every expected event is there, per key in version order, with
//! the key and the `id` / `type` headers matching the payload. It waits until every expected
//! event has arrived (or the timeout), then reports from the records themselves:
//!
//! - the drain rate, from the broker timestamps of the first and last expected record (and,
//!   with `--since-ms`, from that instant, e.g. when the outbox fill committed);
//! - commit → broker latency per record: the record's broker timestamp (the topic has
//!   `message.timestamp.type=LogAppendTime`, so it is the broker's append time whoever
//!   produced it) minus the payload's `source.committed_at`;
//! - whether the lag grew during the run: the median latency of the events committed in the
//!   last quarter of the commit window against those of the second quarter.
//!
//! Both publishers are measured by the same reader, so their figures compare.

use crate::{per_second, quantile, TopicArgs};
use chrono::DateTime;
use rdkafka::{
    consumer::{BaseConsumer, Consumer},
    message::{Headers, Message},
    Offset, TopicPartitionList,
};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A single-partition topic created with `message.timestamp.type=LogAppendTime`.
    #[command(flatten)]
    from: TopicArgs,
    /// The event ids to expect, one per line (other records on the topic are counted, not
    /// checked).
    #[arg(long)]
    expect: PathBuf,
    /// How long to wait for every expected event.
    #[arg(long, default_value_t = 600)]
    timeout_secs: u64,
    /// An instant (Unix epoch milliseconds) to time the drain from, e.g. the fill's commit.
    #[arg(long)]
    since_ms: Option<i64>,
}

/// One expected event as it arrived.
struct Arrival {
    committed_ms: Option<f64>,
    append_ms: i64,
}

#[derive(Default)]
struct Check {
    arrivals: HashMap<String, Arrival>,
    last_version: HashMap<String, i64>,
    duplicates: u64,
    out_of_order: u64,
    mismatched: u64,
    unexpected: u64,
    first_problem: Option<String>,
}

impl Check {
    fn problem(&mut self, what: String) {
        self.first_problem.get_or_insert(what);
    }

    fn record(&mut self, expected: &HashSet<String>, m: &rdkafka::message::BorrowedMessage<'_>) {
        let payload: Value = m
            .payload()
            .and_then(|p| serde_json::from_slice(p).ok())
            .unwrap_or(Value::Null);
        let id = payload["id"].as_str().unwrap_or_default().to_owned();
        if !expected.contains(&id) {
            self.unexpected += 1;
            return;
        }
        let header = |name: &str| {
            m.headers().and_then(|h| {
                h.iter()
                    .find(|x| x.key == name)
                    .and_then(|x| x.value)
                    .map(|v| String::from_utf8_lossy(v).into_owned())
            })
        };
        let key = m.key().map(|k| String::from_utf8_lossy(k).into_owned());
        let aggregate = payload["aggregate_id"].as_str().unwrap_or_default();
        if key.as_deref() != Some(aggregate)
            || header("id").as_deref() != Some(id.as_str())
            || header("type").as_deref() != payload["type"].as_str()
        {
            self.mismatched += 1;
            self.problem(format!(
                "event {id}: key {key:?}, headers id {:?} type {:?} do not match the payload",
                header("id"),
                header("type")
            ));
        }
        let version = payload["version"].as_i64().unwrap_or_default();
        let last = *self
            .last_version
            .entry(aggregate.to_owned())
            .and_modify(|v| *v = (*v).max(version))
            .or_insert(version);
        if version < last {
            self.out_of_order += 1;
            self.problem(format!(
                "key {aggregate}: version {version} arrived after version {last}"
            ));
        }
        if self.arrivals.contains_key(&id) {
            self.duplicates += 1;
            return;
        }
        let committed_ms = payload["source"]["committed_at"]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp_micros() as f64 / 1000.0);
        let append_ms = m.timestamp().to_millis().unwrap_or_default();
        self.arrivals.insert(
            id,
            Arrival {
                committed_ms,
                append_ms,
            },
        );
    }
}

pub async fn run(args: Args) -> anyhow::Result<Value> {
    tokio::task::spawn_blocking(move || check(&args)).await?
}

fn check(args: &Args) -> anyhow::Result<Value> {
    let expected: HashSet<String> = std::fs::read_to_string(&args.expect)?
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    anyhow::ensure!(
        !expected.is_empty(),
        "{} lists no events",
        args.expect.display()
    );
    let group = format!("bench-check-{}", uuid::Uuid::new_v4().simple());
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &args.from.bootstrap)
        .set("group.id", &group)
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "100")
        .create()?;
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(&args.from.topic, 0, Offset::Beginning)?;
    consumer.assign(&assignment)?;
    eprintln!(
        "reading {} until its {} expected events arrived",
        args.from.topic,
        expected.len()
    );
    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
    let mut c = Check::default();
    while c.arrivals.len() < expected.len() && Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => c.record(&expected, &m),
            Some(Err(e)) => eprintln!("reading {}: {e}", args.from.topic),
            None => {}
        }
    }
    Ok(summary(args, &expected, &c))
}

fn summary(args: &Args, expected: &HashSet<String>, c: &Check) -> Value {
    let first = c.arrivals.values().map(|a| a.append_ms).min();
    let last = c.arrivals.values().map(|a| a.append_ms).max();
    let span = |from: Option<i64>| match (from, last) {
        (Some(f), Some(l)) => Some((l - f) as f64 / 1000.0),
        _ => None,
    };
    let n = c.arrivals.len() as f64;
    let rate = |s: Option<f64>| s.map(|s| per_second(n, s));
    // Latency per record, and the lag trend over the commit window.
    let mut by_commit: Vec<(f64, f64)> = c
        .arrivals
        .values()
        .filter_map(|a| a.committed_ms.map(|t| (t, a.append_ms as f64 - t)))
        .collect();
    by_commit.sort_by(|a, b| a.0.total_cmp(&b.0));
    let median_of = |part: &[(f64, f64)]| {
        let mut v: Vec<f64> = part.iter().map(|x| x.1).collect();
        v.sort_by(f64::total_cmp);
        quantile(&v, 0.5)
    };
    let q = by_commit.len() / 4;
    let mid_p50 = median_of(&by_commit[q..2 * q]);
    let late_p50 = median_of(&by_commit[3 * q..]);
    let lag_grew = match (mid_p50, late_p50) {
        (Some(m), Some(l)) => l > 2.0 * m + 100.0,
        _ => false,
    };
    let mut latencies: Vec<f64> = by_commit.iter().map(|x| x.1).collect();
    latencies.sort_by(f64::total_cmp);
    let missing = expected.len() - c.arrivals.len();
    let ok = missing == 0 && c.out_of_order == 0 && c.mismatched == 0;
    json!({
        "topic": args.from.topic,
        "expected": expected.len(),
        "delivered": c.arrivals.len(),
        "missing": missing,
        "duplicates": c.duplicates,
        "out_of_order": c.out_of_order,
        "mismatched_key_or_headers": c.mismatched,
        "other_records": c.unexpected,
        "ok": ok,
        "first_problem": c.first_problem,
        "seconds_first_to_last": span(first),
        "per_sec_first_to_last": rate(span(first)),
        "seconds_from_since": span(args.since_ms),
        "per_sec_from_since": rate(span(args.since_ms)),
        "latency_p50_ms": quantile(&latencies, 0.5),
        "latency_p99_ms": quantile(&latencies, 0.99),
        "latency_max_ms": latencies.last(),
        "lag_mid_p50_ms": mid_p50,
        "lag_late_p50_ms": late_p50,
        "lag_grew": lag_grew,
    })
}
