//! The `.avsc` schemas of the event topics, embedded from `schemas/` at the repo root so that a
//! binary always carries the schemas its code was tested against.

use apache_avro::Schema;
use std::sync::OnceLock;

/// One topic's value schema.
#[derive(Debug)]
pub struct EventSchema {
    /// The topic, without any `TOPIC_PREFIX`.
    pub topic: &'static str,
    /// The schema text as registered.
    pub text: &'static str,
    parsed: OnceLock<Schema>,
}

impl EventSchema {
    const fn new(topic: &'static str, text: &'static str) -> Self {
        Self {
            topic,
            text,
            parsed: OnceLock::new(),
        }
    }

    /// The parsed schema (the embedded files are checked by this crate's tests).
    pub fn schema(&self) -> &Schema {
        self.parsed.get_or_init(|| {
            Schema::parse_str(self.text)
                .unwrap_or_else(|e| panic!("schemas/{}.avsc is not valid Avro: {e}", self.topic))
        })
    }

    /// The record's full name, e.g. `platform.customers.ChangeEvent`.
    pub fn full_name(&self) -> String {
        match self.schema() {
            Schema::Record(record) => record.name.fullname(None),
            other => panic!("schemas/{}.avsc is not a record: {other:?}", self.topic),
        }
    }

    /// The registry subject for this schema on `prefix` + topic (TopicNameStrategy).
    pub fn subject(&self, topic_prefix: &str) -> String {
        format!("{topic_prefix}{}-value", self.topic)
    }
}

/// Every event topic's schema.
pub static ALL: [EventSchema; 5] = [
    EventSchema::new(
        "customers",
        include_str!("../../../../schemas/customers.avsc"),
    ),
    EventSchema::new("movies", include_str!("../../../../schemas/movies.avsc")),
    EventSchema::new("casts", include_str!("../../../../schemas/casts.avsc")),
    EventSchema::new("orders", include_str!("../../../../schemas/orders.avsc")),
    EventSchema::new(
        "order-executions",
        include_str!("../../../../schemas/order-executions.avsc"),
    ),
];

/// The schema of `topic` (without prefix), if it is an event topic.
pub fn for_topic(topic: &str) -> Option<&'static EventSchema> {
    ALL.iter().find(|s| s.topic == topic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_schema_parses_as_a_change_event_record() {
        for schema in &ALL {
            assert!(
                schema.full_name().ends_with(".ChangeEvent"),
                "{}",
                schema.topic
            );
        }
        assert_eq!(
            for_topic("customers").unwrap().subject("dev."),
            "dev.customers-value"
        );
        assert!(for_topic("customers.dlq").is_none());
    }
}
