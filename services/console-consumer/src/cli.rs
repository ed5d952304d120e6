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
    /// print.headers (true/false), key.separator.
    #[arg(long = "property", value_name = "KEY=VALUE")]
    pub properties: Vec<String>,
}

impl Args {
    pub fn layout(&self) -> anyhow::Result<Layout> {
        Layout::from_properties(&self.properties)
    }
}
