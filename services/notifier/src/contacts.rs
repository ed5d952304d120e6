//! Customer contacts: the notifier's own copy of each customer's name and address, fed by the
//! `customers` topic, so that an order execution (which names only a customer id) can be
//! mailed without calling back to customer-api.
//!
//! [`change_of`] (pure) says what a customer event does to the copy; [`CustomerContacts`]
//! applies it in the notifier's database:
//! - created, updated, snapshot read: upsert, guarded by the event version, so a redelivered
//!   older event never overwrites a newer address;
//! - deleted: remove (nothing is mailed to a customer who left).
//!
//! Applying the same event twice changes nothing, so the consume loop may redeliver freely.

use diesel::sql_types::{BigInt, Nullable, Text, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use events::{ChangeEvent, Op};
use runtime::db::PgPool;
use serde_json::Value;
use uuid::Uuid;

/// How to reach one customer.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct Contact {
    #[diesel(sql_type = SqlUuid)]
    pub customer_id: Uuid,
    #[diesel(sql_type = Nullable<Text>)]
    pub name: Option<String>,
    #[diesel(sql_type = Text)]
    pub email: String,
    #[diesel(sql_type = BigInt)]
    pub version: i64,
}

/// What a customer event does to the contacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactChange {
    Upsert(Contact),
    Remove { customer_id: Uuid, version: i64 },
}

/// The change a customer event makes, or why it cannot make one.
pub fn change_of(event: &ChangeEvent) -> Result<ContactChange, String> {
    let customer_id = Uuid::parse_str(&event.aggregate_id)
        .map_err(|_| format!("customer id {:?} is not a UUID", event.aggregate_id))?;
    if event.op == Op::Delete {
        return Ok(ContactChange::Remove {
            customer_id,
            version: event.version,
        });
    }
    let after = event
        .after
        .as_ref()
        .and_then(Value::as_object)
        .ok_or("a customer event without its after image")?;
    let text = |key: &str| {
        after
            .get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let email = text("email").ok_or("the customer record has no email address")?;
    Ok(ContactChange::Upsert(Contact {
        customer_id,
        name: text("name"),
        email,
        version: event.version,
    }))
}

#[derive(Debug, thiserror::Error)]
pub enum ContactsError {
    #[error("notifier database unavailable: {0}")]
    Unavailable(String),
    #[error("notifier database query failed: {0}")]
    Query(#[from] diesel::result::Error),
}

#[derive(Clone)]
pub struct CustomerContacts {
    pool: PgPool,
}

impl CustomerContacts {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    async fn conn(&self) -> Result<runtime::db::PgConn, ContactsError> {
        self.pool
            .get()
            .await
            .map_err(|e| ContactsError::Unavailable(e.to_string()))
    }

    /// Applies `change`; returns whether it changed anything (false for a stale version).
    pub async fn apply(&self, change: &ContactChange) -> Result<bool, ContactsError> {
        let mut conn = self.conn().await?;
        let rows = match change {
            ContactChange::Upsert(contact) => {
                diesel::sql_query(
                    "INSERT INTO customer_contacts (customer_id, name, email, version) \
                     VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (customer_id) DO UPDATE \
                       SET name = EXCLUDED.name, email = EXCLUDED.email, \
                           version = EXCLUDED.version, updated_at = now() \
                       WHERE customer_contacts.version < EXCLUDED.version",
                )
                .bind::<SqlUuid, _>(contact.customer_id)
                .bind::<Nullable<Text>, _>(contact.name.as_deref())
                .bind::<Text, _>(&contact.email)
                .bind::<BigInt, _>(contact.version)
                .execute(&mut conn)
                .await?
            }
            ContactChange::Remove {
                customer_id,
                version,
            } => {
                diesel::sql_query(
                    "DELETE FROM customer_contacts WHERE customer_id = $1 AND version < $2",
                )
                .bind::<SqlUuid, _>(*customer_id)
                .bind::<BigInt, _>(*version)
                .execute(&mut conn)
                .await?
            }
        };
        Ok(rows > 0)
    }

    /// The contact of `customer_id`, if the notifier knows the customer.
    pub async fn find(&self, customer_id: Uuid) -> Result<Option<Contact>, ContactsError> {
        use diesel::OptionalExtension;
        let mut conn = self.conn().await?;
        Ok(diesel::sql_query(
            "SELECT customer_id, name, email, version FROM customer_contacts WHERE customer_id = $1",
        )
        .bind::<SqlUuid, _>(customer_id)
        .get_result(&mut conn)
        .await
        .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use events::Source;
    use serde_json::json;

    const ID: &str = "0190a0e0-0000-7000-8000-000000000001";

    fn event(op: Op, version: i64, after: Option<Value>) -> ChangeEvent {
        ChangeEvent {
            id: Uuid::now_v7(),
            event_type: ChangeEvent::type_name("customer", op),
            op,
            aggregate_type: "customer".into(),
            aggregate_id: ID.into(),
            version,
            before: None,
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

    #[test]
    fn creates_updates_and_reads_upsert_the_address_at_the_event_version() {
        for (op, version) in [(Op::Create, 1), (Op::Update, 4), (Op::Read, 9)] {
            let change = change_of(&event(
                op,
                version,
                Some(json!({"name": " Ada ", "email": "ada@example.com"})),
            ))
            .unwrap();
            assert_eq!(
                change,
                ContactChange::Upsert(Contact {
                    customer_id: Uuid::parse_str(ID).unwrap(),
                    name: Some("Ada".into()),
                    email: "ada@example.com".into(),
                    version,
                })
            );
        }
    }

    #[test]
    fn a_delete_removes_the_contact() {
        assert_eq!(
            change_of(&event(Op::Delete, 3, None)).unwrap(),
            ContactChange::Remove {
                customer_id: Uuid::parse_str(ID).unwrap(),
                version: 3
            }
        );
    }

    #[test]
    fn events_without_an_address_or_id_say_why() {
        assert!(change_of(&event(Op::Create, 1, None)).is_err());
        assert!(change_of(&event(Op::Create, 1, Some(json!({"name": "Ada"})))).is_err());
        let mut odd = event(Op::Create, 1, Some(json!({"email": "a@b.io"})));
        odd.aggregate_id = "42".into();
        assert!(change_of(&odd).unwrap_err().contains("not a UUID"));
        let nameless = change_of(&event(Op::Create, 1, Some(json!({"email": "a@b.io"})))).unwrap();
        assert!(matches!(
            nameless,
            ContactChange::Upsert(Contact { name: None, .. })
        ));
    }
}
