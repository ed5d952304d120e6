//! Whether a schema id may still be needed to read events. Every Avro event on a topic carries
//! its schema's id, and a consumer fetches the schema by that id to decode it; once the last
//! subject version naming an id is permanently deleted, the id is no longer served and those
//! events can no longer be read. So a permanent delete that would orphan an id is refused while
//! the subject's topic (`<topic>-value` / `<topic>-key`, Confluent's TopicNameStrategy, which
//! the platform uses) still holds records.
//!
//! Conservative on purpose: a topic that holds any record keeps every id of its subject, since
//! telling which ids its records use would mean reading all of them.

use crate::error::RegistryError;
use kafka::KafkaArgs;

#[derive(Debug, Clone)]
pub struct InUse {
    kafka: KafkaArgs,
}

impl InUse {
    pub fn new(kafka: KafkaArgs) -> Self {
        Self { kafka }
    }

    /// Refuses when `orphaned` (ids no subject version would name after the delete) may still
    /// be needed to decode `subject`'s topic.
    pub async fn allow_forgetting(
        &self,
        subject: &str,
        orphaned: &[i32],
    ) -> Result<(), RegistryError> {
        let Some(topic) = topic_of(subject) else {
            return Ok(());
        };
        if orphaned.is_empty() {
            return Ok(());
        }
        match self.kafka.records_held(topic).await {
            Ok(None | Some(0)) => Ok(()),
            Ok(Some(records)) => Err(RegistryError::SchemaInUse {
                ids: orphaned.to_vec(),
                topic: topic.to_owned(),
                records,
            }),
            Err(e) => Err(RegistryError::InUseUnknown(e.to_string())),
        }
    }
}

/// The topic whose records a TopicNameStrategy subject describes.
fn topic_of(subject: &str) -> Option<&str> {
    subject
        .strip_suffix("-value")
        .or_else(|| subject.strip_suffix("-key"))
        .filter(|topic| !topic.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_name_strategy_subjects_name_their_topic() {
        assert_eq!(topic_of("customers-value"), Some("customers"));
        assert_eq!(topic_of("orders-key"), Some("orders"));
        assert_eq!(topic_of("com.example.User"), None);
        assert_eq!(topic_of("-value"), None);
    }
}
