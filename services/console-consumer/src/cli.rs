//! The flags, spelled as `kafka-console-consumer` spells them.

use crate::format::Layout;

#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "console-consumer",
    about = "Print the records of a Kafka topic, one per line"
)]
pub struct Args {
    /// Broker to bootstrap from.
    #[arg(
        long,
        env = "KAFKA_BOOTSTRAP_SERVERS",
        default_value = "127.0.0.1:9092"
    )]
    pub bootstrap_server: String,
    /// Topic to read.
    #[arg(long)]
    pub topic: String,
    /// Start at the earliest record instead of the next new one (when the group has no offset).
    #[arg(long)]
    pub from_beginning: bool,
    /// Consumer group; offsets are committed under it. Without one, partitions are read
    /// directly and nothing is committed.
    #[arg(long)]
    pub group: Option<String>,
    /// Exit after this many records.
    #[arg(long)]
    pub max_messages: Option<u64>,
    /// Exit when no record arrives for this long.
    #[arg(long)]
    pub timeout_ms: Option<u64>,
    /// Formatter properties: print.key, print.timestamp, print.partition, print.offset,
    /// print.headers (true/false), key.separator; and, as kafka-avro-console-consumer takes it,
    /// schema.registry.url.
    #[arg(long = "property", value_name = "KEY=VALUE")]
    pub properties: Vec<String>,
    /// Schema registry for Avro values (the `schema.registry.url` property wins). With one,
    /// Confluent-framed Avro values are printed as their JSON event; without, as raw bytes.
    #[arg(long, env = "SCHEMA_REGISTRY_URL")]
    pub schema_registry_url: Option<String>,
}

const REGISTRY_PROPERTY: &str = "schema.registry.url=";

impl Args {
    pub fn layout(&self) -> anyhow::Result<Layout> {
        let formatter: Vec<String> = self
            .properties
            .iter()
            .filter(|p| !p.starts_with(REGISTRY_PROPERTY))
            .cloned()
            .collect();
        Layout::from_properties(&formatter)
    }

    /// The registry to decode Avro values with, if any.
    pub fn registry_url(&self) -> Option<String> {
        self.properties
            .iter()
            .rev()
            .find_map(|p| p.strip_prefix(REGISTRY_PROPERTY))
            .map(str::to_owned)
            .or_else(|| self.schema_registry_url.clone())
            .filter(|url| !url.is_empty())
    }
}
