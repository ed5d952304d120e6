//! Event value formats. The APIs always write JSON events into their outbox; what reaches
//! Kafka is chosen once for the platform by `EVENT_FORMAT`:
//!
//! - `json` (the default): the event as JSON text, as it sits in the outbox.
//! - `avro`: the event in Confluent's wire format (magic byte 0, 4-byte big-endian schema id,
//!   Avro binary), written against the topic's `.avsc` schema under the subject
//!   `<topic>-value` (TopicNameStrategy; the topic includes any `TOPIC_PREFIX`).
//!
//! Consumers do not need to know which format a topic carries: [`EventDecoder`] decides per
//! message by its first byte (`0` is Avro, `{` is JSON), so a topic that switches format during
//! a migration, and so holds both, is read correctly from start to end.
//!
//! `schemas` embeds the `.avsc` files (the source of truth, in `schemas/` at the repo root),
//! `avro` converts a JSON event to an Avro value of its schema and back, `registry` talks to
//! the schema registry through `schema_registry_converter`.

pub mod avro;
pub mod registry;
pub mod schemas;

pub use registry::{DecodeError, EncodeError, EventDecoder, EventEncoder, RegisterError};

/// The default schema registry, as in Confluent's tools.
pub const DEFAULT_REGISTRY_URL: &str = "http://127.0.0.1:8081";

/// The value format of every event topic (`EVENT_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum EventFormat {
    #[default]
    Json,
    Avro,
}

/// Registry options every process that writes or reads Avro flattens into its config.
#[derive(Debug, Clone, clap::Args)]
pub struct FormatArgs {
    /// Value format of the events this process publishes (`json` or `avro`).
    #[arg(long, env = "EVENT_FORMAT", value_enum, default_value_t = EventFormat::Json)]
    pub event_format: EventFormat,
    /// Confluent-compatible schema registry for Avro values.
    #[arg(long, env = "SCHEMA_REGISTRY_URL", default_value = DEFAULT_REGISTRY_URL)]
    pub schema_registry_url: String,
}

/// Confluent's wire-format magic byte, the first byte of every Avro value.
pub const MAGIC_BYTE: u8 = 0;
