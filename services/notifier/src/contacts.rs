//! Customer contacts: the notifier's own copy of each customer's name and address, fed by the
//! `customers` topic, so that an order execution (which names only a customer id) can be
//! mailed without calling back to customer-api.
//!
//! [`change_of`] (pure) says what a customer event does to the copy; [`CustomerContacts`]
//! applies it in the notifier's database, every change an upsert guarded by the event version,
//! so a redelivered older event never overwrites a newer state:
//! - created, updated, snapshot read: the name and address; an address the platform cannot
//!   mail (`events::EmailAddress`) is kept as "no address", never an error;
//! - deleted: a tombstone (nothing is mailed to a customer who left, and a stale create
//!   arriving later cannot bring the contact back).
//!
//! Applying the same event twice changes nothing, so the consume loop may redeliver freely.

use diesel::sql_types::{BigInt, Bool, Nullable, Text, Uuid as SqlUuid};
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
    /// A customer with no address the platform can mail.
    Unmailable {
        customer_id: Uuid,
        name: Option<String>,
        version: i64,
    },
    Remove {
        customer_id: Uuid,
        version: i64,
    },
}

impl ContactChange {
    pub fn customer_id(&self) -> Uuid {
        match self {
            ContactChange::Upsert(c) => c.customer_id,
            ContactChange::Unmailable { customer_id, .. }
            | ContactChange::Remove { customer_id, .. } => *customer_id,
        }
    }
}

/// What the notifier knows of a customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// No event of this customer has arrived (yet).
    Unknown,
    Deleted,
    /// Known, but without an address that can be mailed.
    NoAddress,
    Mailable(Contact),
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
    let name = text("name");
    match text("email").map(|e| events::EmailAddress::parse(&e)) {
        Some(Ok(email)) => Ok(ContactChange::Upsert(Contact {
            customer_id,
            name,
            email: email.as_str().to_owned(),
            version: event.version,
        })),
        None | Some(Err(_)) => Ok(ContactChange::Unmailable {
            customer_id,
            name,
            version: event.version,
        }),
    }
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

    /// The executions waiting for a customer's contact, in the same database.
    pub fn held(&self) -> crate::held::HeldExecutions {
        crate::held::HeldExecutions::new(self.pool.clone())
    }

    async fn conn(&self) -> Result<runtime::db::PgConn, ContactsError> {
        self.pool
            .get()
            .await
            .map_err(|e| ContactsError::Unavailable(e.to_string()))
    }

    /// Applies `change`; returns whether it changed anything (false for a stale version).
    pub async fn apply(&self, change: &ContactChange) -> Result<bool, ContactsError> {
        let (name, email, deleted, version) = match change {
            ContactChange::Upsert(c) => {
                (c.name.as_deref(), Some(c.email.as_str()), false, c.version)
            }
            ContactChange::Unmailable { name, version, .. } => {
                (name.as_deref(), None, false, *version)
            }
            ContactChange::Remove { version, .. } => (None, None, true, *version),
        };
        let mut conn = self.conn().await?;
        let rows = diesel::sql_query(
            "INSERT INTO customer_contacts (customer_id, name, email, deleted, version) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (customer_id) DO UPDATE \
               SET name = EXCLUDED.name, email = EXCLUDED.email, deleted = EXCLUDED.deleted, \
                   version = EXCLUDED.version, updated_at = now() \
               WHERE customer_contacts.version < EXCLUDED.version",
        )
        .bind::<SqlUuid, _>(change.customer_id())
        .bind::<Nullable<Text>, _>(name)
        .bind::<Nullable<Text>, _>(email)
        .bind::<Bool, _>(deleted)
        .bind::<BigInt, _>(version)
        .execute(&mut conn)
        .await?;
        Ok(rows > 0)
    }

    /// What the notifier knows of `customer_id`.
    pub async fn find(&self, customer_id: Uuid) -> Result<Lookup, ContactsError> {
        use diesel::OptionalExtension;
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = Nullable<Text>)]
            name: Option<String>,
            #[diesel(sql_type = Nullable<Text>)]
            email: Option<String>,
            #[diesel(sql_type = Bool)]
            deleted: bool,
            #[diesel(sql_type = BigInt)]
            version: i64,
        }
        let mut conn = self.conn().await?;
        let row: Option<Row> = diesel::sql_query(
            "SELECT name, email, deleted, version FROM customer_contacts WHERE customer_id = $1",
        )
        .bind::<SqlUuid, _>(customer_id)
        .get_result(&mut conn)
        .await
        .optional()?;
        Ok(match row {
            None => Lookup::Unknown,
            Some(Row { deleted: true, .. }) => Lookup::Deleted,
            Some(Row { email: None, .. }) => Lookup::NoAddress,
            Some(Row {
                name,
                email: Some(email),
                version,
                ..
            }) => Lookup::Mailable(Contact {
                customer_id,
                name,
                email,
                version,
            }),
        })
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
    fn an_address_that_cannot_be_mailed_is_no_contact_not_an_error() {
        for after in [
            json!({"name": "Ada"}),
            json!({"name": "Ada", "email": "a..b@example.com"}),
            json!({"name": "Ada", "email": "a,b@example.com"}),
        ] {
            assert_eq!(
                change_of(&event(Op::Update, 2, Some(after))).unwrap(),
                ContactChange::Unmailable {
                    customer_id: Uuid::parse_str(ID).unwrap(),
                    name: Some("Ada".into()),
                    version: 2
                }
            );
        }
    }

    #[test]
    fn events_without_an_image_or_id_say_why() {
        assert!(change_of(&event(Op::Create, 1, None)).is_err());
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
