//! The change event: one per committed change, self-contained, the same in every topic.
//!
//! The envelope follows Debezium's shape (`op`, `before`, `after`, `source`) plus the outbox
//! pattern's aggregate fields, so a consumer never has to call back to an API to act on it.
//! `aggregate_id` doubles as the Kafka key; `version` lets consumers drop stale redeliveries.

mod address;
mod topic;

pub use address::EmailAddress;
pub use topic::Topic;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// What happened to the aggregate, in Debezium's one-letter codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    #[serde(rename = "c")]
    Create,
    #[serde(rename = "u")]
    Update,
    #[serde(rename = "d")]
    Delete,
    /// A snapshot read, for a resync that replays current state rather than a change.
    #[serde(rename = "r")]
    Read,
}

impl Op {
    /// The verb used in event type names (`customer.created`).
    pub fn past_tense(self) -> &'static str {
        match self {
            Op::Create => "created",
            Op::Update => "updated",
            Op::Delete => "deleted",
            Op::Read => "read",
        }
    }
}

/// Where the change came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub service: String,
    pub table: String,
    /// The PostgreSQL transaction id that made the change.
    pub tx_id: i64,
    /// When the writing transaction recorded the change (PostgreSQL's clock).
    pub committed_at: DateTime<Utc>,
}

/// One committed change of one aggregate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeEvent {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub event_type: String,
    pub op: Op,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub version: i64,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub source: Source,
    pub occurred_at: DateTime<Utc>,
}

impl ChangeEvent {
    /// `customer` + `Create` gives `customer.created`.
    pub fn type_name(aggregate_type: &str, op: Op) -> String {
        format!("{aggregate_type}.{}", op.past_tense())
    }

    /// The names of the top-level fields whose value differs between `before` and `after`,
    /// in the order they appear in `after` (then fields only `before` had). Notification and
    /// diff views use this so that they agree on what "changed" means.
    pub fn changed_fields(&self) -> Vec<String> {
        let empty = serde_json::Map::new();
        let before = self
            .before
            .as_ref()
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let after = self
            .after
            .as_ref()
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let mut changed: Vec<String> = after
            .iter()
            .filter(|(k, v)| before.get(*k) != Some(*v))
            .map(|(k, _)| k.clone())
            .collect();
        changed.extend(before.keys().filter(|k| !after.contains_key(*k)).cloned());
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(before: Option<Value>, after: Option<Value>) -> ChangeEvent {
        ChangeEvent {
            id: Uuid::nil(),
            event_type: "customer.updated".into(),
            op: Op::Update,
            aggregate_type: "customer".into(),
            aggregate_id: "1".into(),
            version: 2,
            before,
            after,
            source: Source {
                service: "customer-api".into(),
                table: "customers".into(),
                tx_id: 7,
                committed_at: DateTime::UNIX_EPOCH,
            },
            occurred_at: DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn serializes_with_debezium_field_names_and_op_codes() {
        let value = serde_json::to_value(event(None, Some(json!({"a": 1})))).unwrap();
        assert_eq!(value["type"], "customer.updated");
        assert_eq!(value["op"], "u");
        assert_eq!(value["before"], Value::Null);
        assert_eq!(value["source"]["tx_id"], 7);
    }

    #[test]
    fn round_trips_through_json() {
        let original = event(Some(json!({"a": 1})), Some(json!({"a": 2})));
        let text = serde_json::to_string(&original).unwrap();
        assert_eq!(
            serde_json::from_str::<ChangeEvent>(&text).unwrap(),
            original
        );
    }

    #[test]
    fn changed_fields_lists_only_differences() {
        let e = event(
            Some(json!({"name": "A", "email": "a@x.io", "phone": "1"})),
            Some(json!({"name": "B", "email": "a@x.io", "phone": null})),
        );
        assert_eq!(
            e.changed_fields(),
            vec!["name".to_string(), "phone".to_string()]
        );
    }

    #[test]
    fn type_name_uses_past_tense() {
        assert_eq!(
            ChangeEvent::type_name("customer", Op::Delete),
            "customer.deleted"
        );
    }
}
