//! Customer persistence: the table, its row and its rules (the email is unique among live
//! customers). Every write is one transaction holding the row change and its outbox event, run
//! by `resource::Store`.

use crate::domain::{CustomerFields, CustomerInput, CustomerPatch};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use diesel_migrations::{embed_migrations, EmbeddedMigrations};
use outbox::Aggregate;
use resource::{Collection, Creatable, Mutable, Store, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use web::FieldErrors;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");
/// The service's schema: the outbox and the snapshots first, then its own tables.
pub const ALL_MIGRATIONS: &[EmbeddedMigrations] =
    &[outbox::MIGRATIONS, resource::MIGRATIONS, MIGRATIONS];

pub const SERVICE: &str = "customer-api";
pub const TABLE: &str = "customers";
pub const TOPIC: &str = events::Topic::CUSTOMERS.name();
pub const AGGREGATE: &str = "customer";
const CUSTOMER: Aggregate = Aggregate {
    service: SERVICE,
    name: AGGREGATE,
    table: TABLE,
    topic: TOPIC,
};
const EMAIL_KEY: &str = "customers_email_key";

diesel::table! {
    customers (id) {
        id -> Uuid,
        name -> Text,
        email -> Text,
        phone -> Nullable<Text>,
        version -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

/// A customer as the API returns it and as change events carry it (`before` / `after`).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Serialize, Deserialize, ToSchema)]
#[diesel(table_name = customers)]
pub struct Customer {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    /// Starts at 1, +1 on every change; also the ETag.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The writable columns, as a create and an update both set them.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = customers, treat_none_as_null = true)]
struct Columns<'a> {
    name: &'a str,
    email: &'a str,
    phone: Option<&'a str>,
}

impl<'a> From<&'a CustomerFields> for Columns<'a> {
    fn from(fields: &'a CustomerFields) -> Self {
        Self {
            name: fields.name.as_str(),
            email: fields.email.as_str(),
            phone: fields.phone.as_ref().map(|p| p.as_str()),
        }
    }
}

/// Customers as a resource: the table's own queries and rules; the transactions are
/// `resource::Store`'s.
pub struct Customers;

pub type CustomerStore = Store<Customers>;

impl Collection for Customers {
    type Row = Customer;
    type Filter = ();
    const AGGREGATE: Aggregate = CUSTOMER;
    const WRITES_METRIC: &'static str = "customer_api_writes_total";

    resource::live_rows!(customers, Customer);
}

impl Creatable for Customers {
    type Input = CustomerInput;
    type Fields = CustomerFields;

    fn parse(input: CustomerInput) -> Result<CustomerFields, FieldErrors> {
        input.parse()
    }

    resource::live_rows!(insert customers, Customer, Columns::from);

    fn on_constraint(constraint: &str, fields: &CustomerFields) -> Option<StoreError> {
        (constraint == EMAIL_KEY).then(|| StoreError::Conflict {
            message: format!(
                "email {} is already used by another customer",
                fields.email.as_str()
            ),
            details: [("email".to_owned(), "already in use".to_owned())].into(),
        })
    }
}

impl Mutable for Customers {
    type Patch = CustomerPatch;

    fn fields(row: &Customer) -> Result<CustomerFields, FieldErrors> {
        CustomerInput {
            name: row.name.clone(),
            email: row.email.clone(),
            phone: row.phone.clone(),
        }
        .parse()
    }

    fn apply(
        patch: &CustomerPatch,
        current: &CustomerFields,
    ) -> Result<CustomerFields, FieldErrors> {
        patch.apply(current)
    }

    resource::live_rows!(update customers, Customer, Columns::from);
}
