//! Change events shaped exactly as customer-api writes them, for tests of the consumers.

use chrono::Utc;
use events::{ChangeEvent, Op, Source};
use serde_json::{json, Value};
use uuid::Uuid;

/// A customer as customer-api writes it into its events.
#[derive(Debug, Clone)]
pub struct Customer {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub version: i64,
}

impl Customer {
    pub fn new(name: &str) -> Self {
        let local = name.to_lowercase().replace(' ', ".");
        Self {
            id: Uuid::now_v7(),
            name: name.to_owned(),
            email: format!("{}@example.com", crate::unique(&local)),
            phone: Some("+1 555-0100".to_owned()),
            version: 1,
        }
    }

    /// The row image events carry as `before` / `after`.
    pub fn row(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "phone": self.phone,
            "version": self.version,
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": Utc::now(),
        })
    }

    pub fn created(&self) -> ChangeEvent {
        event(self, Op::Create, None, Some(self.row()))
    }

    /// The event of changing this customer with `change`; returns it and the new customer.
    pub fn updated(&self, change: impl FnOnce(&mut Customer)) -> (ChangeEvent, Customer) {
        let mut next = self.clone();
        change(&mut next);
        next.version += 1;
        let event = event(&next, Op::Update, Some(self.row()), Some(next.row()));
        (event, next)
    }

    pub fn deleted(&self) -> ChangeEvent {
        let mut gone = self.clone();
        gone.version += 1;
        event(&gone, Op::Delete, Some(self.row()), None)
    }
}

fn event(customer: &Customer, op: Op, before: Option<Value>, after: Option<Value>) -> ChangeEvent {
    ChangeEvent {
        id: Uuid::new_v4(),
        event_type: ChangeEvent::type_name("customer", op),
        op,
        aggregate_type: "customer".into(),
        aggregate_id: customer.id.to_string(),
        version: customer.version,
        before,
        after,
        source: Source {
            service: "customer-api".into(),
            table: "customers".into(),
            tx_id: 1,
            committed_at: Utc::now(),
        },
        occurred_at: Utc::now(),
    }
}
