//! outbox-relay configuration: flags, each with an environment variable and a default.

use runtime::config::{millis, seconds};
use std::{net::SocketAddr, time::Duration};

#[derive(Debug, Clone, clap::Parser)]
#[command(name = "outbox-relay", about = "Publishes outbox events to Kafka")]
pub struct Config {
    /// Address for health and metrics.
    #[arg(long, env = "RELAY_ADDR", default_value = "127.0.0.1:8005")]
    pub addr: SocketAddr,
    /// PostgreSQL URL of the database whose `outbox` table this relay drains.
    #[arg(long, env = "RELAY_DATABASE_URL", default_value_t = runtime::config::database_url_or_local("customers"))]
    pub database_url: String,
    #[command(flatten)]
    pub kafka: kafka::KafkaArgs,
    /// Prepended to every topic name (like Debezium's `topic.prefix`), to share one broker
    /// between environments.
    #[arg(long, env = "TOPIC_PREFIX", default_value = "")]
    pub topic_prefix: String,
    /// Most events read and published per round trip.
    #[arg(long, env = "RELAY_BATCH_SIZE", default_value_t = 500)]
    pub batch_size: i64,
    /// Batches handed to the producer before the oldest one's acknowledgements are awaited;
    /// 1 reads, sends, awaits and marks one batch at a time.
    #[arg(long, env = "RELAY_PIPELINE_DEPTH", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    pub pipeline_depth: u16,
    /// How often to look for events when no NOTIFY arrives (a safety net, e.g. after a lost
    /// connection).
    #[arg(long, env = "RELAY_POLL_INTERVAL_MS", default_value = "1000", value_parser = millis)]
    pub poll_interval: Duration,
    /// How the relay finds new events: `wal` (the default: it measured better on every figure
    /// but its own CPU, see the README's benchmark) reads the outbox's inserts from a logical
    /// replication slot (`pgoutput`; PostgreSQL with `wal_level=logical`) and deletes what it
    /// published; `poll` reads the table (woken by NOTIFY), marks what it published and keeps
    /// it for `OUTBOX_RETENTION_SECS`.
    #[arg(long, env = "RELAY_CAPTURE", value_enum, default_value_t = Capture::Wal)]
    pub capture: Capture,
    /// `wal`: the replication slot; default `outbox_relay_<database>` (slot names are
    /// cluster-wide, so each outbox database gets its own).
    #[arg(long, env = "RELAY_SLOT", value_parser = identifier)]
    pub slot: Option<String>,
    /// `wal`: the publication of the outbox table (inserts only) in the relay's database.
    #[arg(long, env = "RELAY_PUBLICATION", default_value = "outbox_relay", value_parser = identifier)]
    pub publication: String,
    /// `wal`: how often a relay with nothing in flight writes a heartbeat into the log and
    /// confirms its position when it comes back, so the slot keeps no log a quiet database
    /// no longer needs.
    #[arg(long, env = "RELAY_HEARTBEAT_MS", default_value = "10000", value_parser = millis)]
    pub heartbeat_interval: Duration,
    /// How often a standby tries to become the publisher.
    #[arg(long, env = "RELAY_STANDBY_POLL_MS", default_value = "1000", value_parser = millis)]
    pub standby_poll: Duration,
    /// How long a send may wait for the broker before the batch is retried.
    #[arg(long, env = "RELAY_DELIVERY_TIMEOUT_MS", default_value = "10000", value_parser = millis)]
    pub delivery_timeout: Duration,
    /// Producer linger: a little waiting buys larger broker requests under load.
    #[arg(long, env = "RELAY_LINGER_MS", default_value = "5", value_parser = millis)]
    pub linger: Duration,
    /// How long published events stay in the outbox (for audit and replay) before pruning.
    #[arg(long, env = "OUTBOX_RETENTION_SECS", default_value = "86400", value_parser = seconds)]
    pub retention: Duration,
    /// How often to prune.
    #[arg(long, env = "OUTBOX_PRUNE_INTERVAL_SECS", default_value = "60", value_parser = seconds)]
    pub prune_interval: Duration,
    /// The advisory lock that elects the publisher; relays of one outbox must share it.
    #[arg(long, env = "RELAY_LOCK_KEY", default_value_t = 0x6f7574626f78)]
    pub lock_key: i64,
    /// `EVENT_FORMAT` (json or avro) and `SCHEMA_REGISTRY_URL`. In Avro mode the relay
    /// registers the embedded schemas of every event topic before it publishes, and refuses to
    /// start when the registry rejects one as incompatible.
    #[command(flatten)]
    pub format: codec::FormatArgs,
    /// The platform's token secret: in Avro mode the relay signs itself an admin token with it,
    /// since the schema registry takes writes (registrations) only from admins.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<web::auth::JwtSecret>,
    #[command(flatten)]
    pub log: runtime::telemetry::LogArgs,
}

/// How the relay finds new outbox events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Capture {
    Poll,
    Wal,
}

/// A PostgreSQL name the relay may put in SQL as it is: lower-case letters, digits, `_`.
fn identifier(raw: &str) -> Result<String, String> {
    let valid = !raw.is_empty()
        && raw.len() <= 63
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if valid {
        Ok(raw.to_owned())
    } else {
        Err("1 to 63 of a-z, 0-9 and _".into())
    }
}

impl Config {
    /// The replication slot: `RELAY_SLOT`, or one named for the database.
    pub fn slot_name(&self) -> String {
        self.slot.clone().unwrap_or_else(|| {
            let database = url::Url::parse(&self.database_url)
                .ok()
                .map(|u| u.path().trim_start_matches('/').to_owned())
                .unwrap_or_default();
            let cleaned: String = database
                .to_ascii_lowercase()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .take(50)
                .collect();
            format!("outbox_relay_{cleaned}")
        })
    }

    /// The bearer token for the schema registry: an admin token for a day (registrations
    /// happen at start), or none without `JWT_SECRET` (a registry that takes anonymous writes).
    pub fn registry_token(&self) -> Option<String> {
        use web::auth::{Claims, JwtKeys, Role};
        let keys = JwtKeys::new(self.jwt_secret.as_ref()?);
        let day = Duration::from_secs(24 * 3600);
        Some(keys.sign(&Claims::new("outbox-relay", Role::Admin, day)))
    }
}
