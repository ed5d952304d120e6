//! `bench`: the measuring half of `scripts/bench.sh`.
//!
//! The script starts the infrastructure and the platform's services; this binary does what a
//! shell cannot do well: the side-by-side baselines (a bare Kafka producer, direct MongoDB bulk
//! upserts), the end-to-end latency probe (API 201 → document visible in MongoDB), waiting for a
//! Prometheus counter or a collection count, quantiles from a Prometheus histogram, and minting
//! a bearer token. Every measuring subcommand prints one JSON object on stdout; progress goes to
//! stderr. It is a tool, not part of the test suite.
//!
//! Events travel between the steps as a TSV file: `aggregate_id<TAB>payload JSON` per line, as
//! `psql -At -F '<TAB>'` prints the outbox.

mod e2e;
mod events_file;
mod kafka_baseline;
mod mongo_baseline;
mod prometheus;
mod topic_check;
mod wait;

use clap::{Parser, Subcommand};
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(name = "bench", about = "Benchmark helpers for scripts/bench.sh")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Prints an admin bearer token signed with the APIs' JWT secret.
    Token {
        #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
        secret: String,
        #[arg(long, default_value_t = 7200)]
        ttl_secs: u64,
    },
    /// Baseline for the relay: publishes the events of a TSV file with a bare idempotent
    /// producer (the relay's settings: acks=all, idempotence, linger), as fast as it can.
    Produce(kafka_baseline::Args),
    /// Baseline for the replicator: the same documents bulk-upserted into MongoDB directly
    /// (the replicator's `update` command, batch size and write concern).
    MongoUpsert(mongo_baseline::Args),
    /// Waits until a Prometheus counter reaches a value; reports the drain rate.
    WaitMetric(wait::MetricArgs),
    /// Waits until a MongoDB collection holds a number of documents; reports the rate.
    WaitCount(wait::CountArgs),
    /// Snapshot (`--save`) or quantiles (`--since`) of a Prometheus histogram.
    Histogram(prometheus::HistogramArgs),
    /// Writes through the API at a steady rate and measures 201 → visible in MongoDB.
    E2e(e2e::Args),
    /// Waits for the expected events on a topic and checks them (all there, per key in
    /// version order, key and headers matching); reports drain rate and commit → broker latency.
    TopicCheck(topic_check::Args),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let report = match cli.command {
        Command::Token { secret, ttl_secs } => {
            let claims = web::auth::Claims::new(
                "bench",
                web::auth::Role::Admin,
                Duration::from_secs(ttl_secs),
            );
            let keys = web::auth::JwtKeys::new(
                &secret
                    .parse::<web::auth::JwtSecret>()
                    .map_err(anyhow::Error::msg)?,
            );
            println!("{}", keys.sign(&claims));
            return Ok(());
        }
        Command::Produce(args) => kafka_baseline::run(args).await?,
        Command::MongoUpsert(args) => mongo_baseline::run(args).await?,
        Command::WaitMetric(args) => wait::metric(args).await?,
        Command::WaitCount(args) => wait::count(args).await?,
        Command::Histogram(args) => prometheus::run(args).await?,
        Command::E2e(args) => e2e::run(args).await?,
        Command::TopicCheck(args) => topic_check::run(args).await?,
    };
    println!("{report}");
    Ok(())
}

/// The broker and the topic a subcommand writes or reads.
#[derive(Debug, clap::Args)]
pub struct TopicArgs {
    #[arg(long)]
    pub bootstrap: String,
    #[arg(long)]
    pub topic: String,
}

/// `n / seconds`, 0 for an empty interval.
pub fn per_second(n: f64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        n / seconds
    } else {
        0.0
    }
}

/// The `q` quantile (0..=1) of sorted samples, nearest rank.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

#[cfg(test)]
mod tests {
    use super::quantile;

    #[test]
    fn nearest_rank_quantiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.5), Some(50.0));
        assert_eq!(quantile(&v, 0.99), Some(99.0));
        assert_eq!(quantile(&v, 1.0), Some(100.0));
        assert_eq!(quantile(&[], 0.5), None);
    }
}
