//! Avro values in Confluent's wire format through the schema registry, with
//! `schema_registry_converter`: [`EventEncoder`] registers the embedded schemas and frames
//! events (the relay), [`EventDecoder`] turns any message of an event topic back into the JSON
//! event, fetching writer schemas by the id in the message and caching them (the consumers).

use crate::{avro, schemas, MAGIC_BYTE};
use events::ChangeEvent;
use schema_registry_converter::{
    async_impl::{
        avro::{AvroDecoder, AvroEncoder},
        schema_registry::SrSettings,
    },
    error::SRCError,
    schema_registry_common::{SchemaType, SubjectNameStrategy, SuppliedSchema},
};
use serde_json::Value as Json;
use std::time::Duration;

/// How long one registry request may take before it counts as an outage.
const REGISTRY_TIMEOUT: Duration = Duration::from_secs(5);

/// `token`: a bearer token sent with every request (the platform's registry wants an admin
/// token for writes; Confluent's ignores it unless configured for it).
fn settings(url: &str, token: Option<&str>) -> SrSettings {
    let mut builder = SrSettings::new_builder(url.trim_end_matches('/').to_owned());
    builder.no_proxy().set_timeout(REGISTRY_TIMEOUT);
    if let Some(token) = token {
        builder.set_token_authorization(token);
    }
    builder
        .build()
        .unwrap_or_else(|e| panic!("schema registry client for {url}: {e}"))
}

/// Whether a registry failure is an outage (retry later) rather than an answer: no HTTP
/// answer at all, or a 5xx.
fn is_outage(e: &SRCError) -> bool {
    let text = format!("{} {}", e.error, e.cause.as_deref().unwrap_or_default()).to_lowercase();
    e.retriable
        || text.contains("status 5")
        || (!text.contains("status 4")
            && ["connect", "timed out", "timeout", "request", "http"]
                .iter()
                .any(|w| text.contains(w)))
}

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// The registry refused the schema (409): the subject's registered versions and this
    /// schema break its compatibility level. Publishing must not start.
    #[error("the schema registry refuses schemas/{topic}.avsc for subject {subject} as incompatible with its registered versions ({reason}); make the schema change compatible (e.g. new fields optional with a default) or change the subject's compatibility level")]
    Incompatible {
        topic: String,
        subject: String,
        reason: String,
    },
    /// Any other refusal (e.g. 422 invalid schema): also fatal.
    #[error("the schema registry refuses schemas/{topic}.avsc for subject {subject}: {reason}")]
    Refused {
        topic: String,
        subject: String,
        reason: String,
    },
    /// The registry is unreachable or failing: try again later.
    #[error("the schema registry is unavailable: {0}")]
    Unavailable(String),
}

impl RegisterError {
    pub fn is_fatal(&self) -> bool {
        !matches!(self, RegisterError::Unavailable(_))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("no Avro schema for topic {0}")]
    NoSchema(String),
    #[error("event does not fit schemas/{topic}.avsc: {reason}")]
    Invalid { topic: String, reason: String },
    #[error(transparent)]
    Register(#[from] RegisterError),
}

/// Encodes JSON events as Confluent-framed Avro against the registry.
pub struct EventEncoder {
    encoder: AvroEncoder,
    topic_prefix: String,
}

impl EventEncoder {
    /// `token`: see [`settings`]; the relay mints an admin token from `JWT_SECRET`.
    pub fn new(registry_url: &str, topic_prefix: &str, token: Option<&str>) -> Self {
        Self {
            encoder: AvroEncoder::new(settings(registry_url, token)),
            topic_prefix: topic_prefix.to_owned(),
        }
    }

    fn strategy(&self, schema: &schemas::EventSchema) -> SubjectNameStrategy {
        SubjectNameStrategy::TopicNameStrategyWithSchema(
            format!("{}{}", self.topic_prefix, schema.topic),
            false,
            SuppliedSchema::new(
                Some(schema.full_name()),
                SchemaType::Avro,
                schema.text.to_owned(),
            ),
        )
    }

    /// Registers (or finds) `schema` under its subject; returns the schema id.
    pub async fn register(&self, schema: &schemas::EventSchema) -> Result<u32, RegisterError> {
        let subject = schema.subject(&self.topic_prefix);
        match self
            .encoder
            .get_schema_and_id(&subject, self.strategy(schema))
            .await
        {
            Ok(registered) => Ok(registered.id),
            Err(e) if is_outage(&e) => {
                // A failed lookup may be cached; the next attempt must ask again.
                self.encoder.remove_errors_from_cache();
                Err(RegisterError::Unavailable(e.to_string()))
            }
            Err(e) => {
                self.encoder.remove_errors_from_cache();
                let reason = e.cause.clone().unwrap_or_else(|| e.error.clone());
                let (topic, subject) = (schema.topic.to_owned(), subject);
                Err(if e.error.contains("409") {
                    RegisterError::Incompatible {
                        topic,
                        subject,
                        reason,
                    }
                } else {
                    RegisterError::Refused {
                        topic,
                        subject,
                        reason,
                    }
                })
            }
        }
    }

    /// Registers the schema of every event topic; the first failure ends it.
    pub async fn register_all(&self) -> Result<Vec<(String, u32)>, RegisterError> {
        let mut ids = Vec::new();
        for schema in &schemas::ALL {
            ids.push((
                schema.subject(&self.topic_prefix),
                self.register(schema).await?,
            ));
        }
        Ok(ids)
    }

    /// The wire-format value of `event` (JSON, as the outbox holds it) for `topic` (without
    /// prefix).
    pub async fn encode(&self, topic: &str, event: &Json) -> Result<Vec<u8>, EncodeError> {
        let schema =
            schemas::for_topic(topic).ok_or_else(|| EncodeError::NoSchema(topic.to_owned()))?;
        let id = self.register(schema).await?;
        let body = avro::encode(event, schema.schema()).map_err(|e| EncodeError::Invalid {
            topic: topic.to_owned(),
            reason: e.to_string(),
        })?;
        let mut framed = Vec::with_capacity(body.len() + 5);
        framed.push(MAGIC_BYTE);
        framed.extend_from_slice(&id.to_be_bytes());
        framed.extend_from_slice(&body);
        Ok(framed)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The message is neither a JSON event nor Avro the registry can explain: dead-letter it.
    #[error("{0}")]
    Malformed(String),
    /// The registry could not be asked: retry the message later, never skip it.
    #[error("the schema registry is unavailable: {0}")]
    Unavailable(String),
}

const NO_VALUE: &str = "the message has no value";

/// Turns event-topic messages, JSON or Avro, into events.
pub struct EventDecoder {
    avro: AvroDecoder,
}

impl EventDecoder {
    pub fn new(registry_url: &str) -> Self {
        Self {
            avro: AvroDecoder::new(settings(registry_url, None)),
        }
    }

    /// The JSON event in `payload`, decided by its first byte: `0` is Confluent-framed Avro
    /// (decoded with the writer schema its id names, so every registered version of the
    /// subject reads), anything else is JSON text.
    pub async fn decode_json(&self, payload: Option<&[u8]>) -> Result<Json, DecodeError> {
        let payload = payload.ok_or_else(|| DecodeError::Malformed(NO_VALUE.into()))?;
        if payload.first() == Some(&MAGIC_BYTE) {
            self.decode_avro(payload).await
        } else {
            serde_json::from_slice(payload)
                .map_err(|e| DecodeError::Malformed(format!("not a JSON change event: {e}")))
        }
    }

    async fn decode_avro(&self, payload: &[u8]) -> Result<Json, DecodeError> {
        let decoded = match self.avro.decode(Some(payload)).await {
            Ok(decoded) => decoded,
            Err(e) if is_outage(&e) => {
                self.avro.remove_errors_from_cache();
                return Err(DecodeError::Unavailable(e.to_string()));
            }
            Err(e) => {
                return Err(DecodeError::Malformed(format!(
                    "not a decodable Avro change event: {e}"
                )))
            }
        };
        avro::to_json(&decoded.value)
            .map_err(|e| DecodeError::Malformed(format!("not a decodable Avro change event: {e}")))
    }

    /// The change event in `payload` (see [`EventDecoder::decode_json`]).
    pub async fn decode(&self, payload: Option<&[u8]>) -> Result<ChangeEvent, DecodeError> {
        let payload = payload.ok_or_else(|| DecodeError::Malformed(NO_VALUE.into()))?;
        if payload.first() == Some(&MAGIC_BYTE) {
            let json = self.decode_avro(payload).await?;
            serde_json::from_value(json).map_err(|e| {
                DecodeError::Malformed(format!("Avro value is not a change event: {e}"))
            })
        } else {
            serde_json::from_slice(payload)
                .map_err(|e| DecodeError::Malformed(format!("not a JSON change event: {e}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nothing listens here: JSON needs no registry, Avro needs one.
    fn decoder() -> EventDecoder {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        EventDecoder::new(&format!("http://127.0.0.1:{port}"))
    }

    #[tokio::test]
    async fn undecodable_payloads_are_malformed_and_explained() {
        let d = decoder();
        let reason = |r: Result<ChangeEvent, DecodeError>| match r {
            Err(DecodeError::Malformed(reason)) => reason,
            other => panic!("{other:?}"),
        };
        assert_eq!(reason(d.decode(None).await), "the message has no value");
        assert!(reason(d.decode(Some(b"{not json")).await).starts_with("not a JSON change event"));
        assert!(
            reason(d.decode(Some(br#"{"id": "x"}"#)).await).starts_with("not a JSON change event")
        );
        // Too short to carry a schema id.
        assert!(reason(d.decode(Some(&[0, 0, 1])).await).starts_with("not a decodable Avro"));
    }

    #[tokio::test]
    async fn avro_with_the_registry_down_is_an_outage_not_poison() {
        let result = decoder().decode(Some(&[0, 0, 0, 0, 1, 2, 3])).await;
        assert!(
            matches!(result, Err(DecodeError::Unavailable(_))),
            "{result:?}"
        );
    }
}
