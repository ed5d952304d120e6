//! replicator configuration: flags, each with an environment variable and a default.

use std::net::SocketAddr;

#[derive(Debug, Clone, clap::Parser)]
#[command(name = "replicator", about = "Replicates change events into MongoDB")]
pub struct Config {
    /// Address for health and metrics.
    #[arg(long, env = "REPLICATOR_ADDR", default_value = "127.0.0.1:8006")]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub kafka: kafka::KafkaArgs,
    /// Aggregate topics to replicate; each becomes a collection of the same name.
    #[arg(
        long,
        env = "REPLICATOR_TOPICS",
        value_delimiter = ',',
        default_values_t = events::Topic::CHANGE_EVENTS.map(|t| t.name().to_owned())
    )]
    pub topics: Vec<String>,
    /// Prepended to every topic name (collections keep the bare name).
    #[arg(long, env = "TOPIC_PREFIX", default_value = "")]
    pub topic_prefix: String,
    /// Consumer group; offsets are committed under it after each MongoDB write.
    #[arg(long, env = "REPLICATOR_GROUP", default_value = "replicator")]
    pub group: String,
    #[arg(
        long,
        env = "MONGODB_URI",
        default_value = "mongodb://127.0.0.1:27017/?directConnection=true"
    )]
    pub mongodb_uri: String,
    #[arg(long, env = "MONGODB_DATABASE", default_value = "replica")]
    pub mongodb_database: String,
    /// Confluent-compatible schema registry, for the writer schemas of Avro values.
    #[arg(long, env = "SCHEMA_REGISTRY_URL", default_value = codec::DEFAULT_REGISTRY_URL)]
    pub schema_registry_url: String,
    /// Most events applied in one bulk write; a backlog drains in batches this big, while a
    /// single waiting event is applied at once.
    #[arg(long, env = "REPLICATOR_BATCH_SIZE", default_value_t = 500,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub batch_size: u16,
    /// Resync mode: drop the target database first, consume until every partition is caught
    /// up, then exit (use with a new group and a new database).
    #[arg(long)]
    pub resync: bool,
    #[command(flatten)]
    pub log: runtime::telemetry::LogArgs,
}
