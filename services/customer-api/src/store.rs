//! Customer persistence. Every write is one transaction holding the row change and its outbox
//! event, so a failure leaves neither.
//!
//! Same-customer writes serialize on the row lock (`SELECT … FOR UPDATE`): the second writer
//! cannot read `before`, bump the version or draw an outbox id until the first has committed.
//! That is what makes outbox id order equal commit order for one aggregate.

use crate::domain::CustomerFields;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations};
use events::Op;
use outbox::{Aggregate, OutboxError};
use runtime::db::PgPool;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
pub use web::paging::{Page, PageStart};
use web::{etag::IfMatch, FieldErrors};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");
/// The service's schema: the outbox first, then its own tables.
pub const ALL_MIGRATIONS: &[EmbeddedMigrations] = &[outbox::MIGRATIONS, MIGRATIONS];

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

impl Customer {
    /// The current fields, re-parsed; stored rows were valid when written.
    fn fields(&self) -> Result<CustomerFields, StoreError> {
        crate::domain::CustomerInput {
            name: self.name.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
        }
        .parse()
        .map_err(StoreError::Invalid)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("customer {0} not found")]
    NotFound(Uuid),
    #[error("email {0} is already used by another customer")]
    EmailTaken(String),
    #[error("version mismatch: current version is {current}")]
    VersionMismatch { current: i64 },
    #[error("invalid customer")]
    Invalid(FieldErrors),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    #[error("database error: {0}")]
    Database(DieselError),
}

impl From<DieselError> for StoreError {
    fn from(e: DieselError) -> Self {
        StoreError::Database(e)
    }
}

/// Turns the unique-email violation into a domain error; everything else passes through.
fn email_conflict(email: &str) -> impl FnOnce(StoreError) -> StoreError + '_ {
    move |e| match e {
        StoreError::Database(DieselError::DatabaseError(
            DatabaseErrorKind::UniqueViolation,
            info,
        )) if info.constraint_name() == Some(EMAIL_KEY) => StoreError::EmailTaken(email.to_owned()),
        StoreError::Outbox(OutboxError::Query(DieselError::DatabaseError(
            DatabaseErrorKind::UniqueViolation,
            info,
        ))) if info.constraint_name() == Some(EMAIL_KEY) => {
            StoreError::EmailTaken(email.to_owned())
        }
        other => other,
    }
}

#[derive(Clone)]
pub struct CustomerStore {
    pool: PgPool,
}

impl CustomerStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn conn(&self) -> Result<runtime::db::PgConn, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    pub async fn create(&self, fields: CustomerFields) -> Result<Customer, StoreError> {
        let mut conn = self.conn().await?;
        let email = fields.email.as_str().to_owned();
        conn.transaction(async |conn| {
            let now = Utc::now();
            let customer: Customer = diesel::insert_into(customers::table)
                .values((
                    customers::id.eq(Uuid::now_v7()),
                    customers::name.eq(fields.name.as_str()),
                    customers::email.eq(fields.email.as_str()),
                    customers::phone.eq(fields.phone.as_ref().map(|p| p.as_str())),
                    customers::version.eq(1),
                    customers::created_at.eq(now),
                    customers::updated_at.eq(now),
                ))
                .returning(Customer::as_returning())
                .get_result(conn)
                .await?;
            CUSTOMER
                .record(conn, customer.id, Op::Create, 1, None, Some(&customer))
                .await?;
            Ok(customer)
        })
        .await
        .map_err(email_conflict(&email))
        .inspect(|_| metrics::counter!("customer_api_writes_total", "op" => "create").increment(1))
    }

    pub async fn get(&self, id: Uuid) -> Result<Customer, StoreError> {
        let mut conn = self.conn().await?;
        live(id)
            .select(Customer::as_select())
            .first(&mut conn)
            .await
            .optional()?
            .ok_or(StoreError::NotFound(id))
    }

    /// Live customers, newest first: up to `limit` and whether more follow.
    pub async fn list(&self, start: PageStart, limit: i64) -> Result<Page<Customer>, StoreError> {
        let mut conn = self.conn().await?;
        let query = customers::table
            .filter(customers::deleted_at.is_null())
            .order((customers::created_at.desc(), customers::id.desc()))
            .limit(limit + 1)
            .select(Customer::as_select())
            .into_boxed();
        let rows = web::starting_at!(query, customers, start)
            .load(&mut conn)
            .await?;
        Ok(Page::from_rows(rows, limit))
    }

    /// Replaces the customer's fields with `change(current)` if `if_match` allows.
    pub async fn update(
        &self,
        id: Uuid,
        if_match: &IfMatch,
        change: impl FnOnce(&CustomerFields) -> Result<CustomerFields, FieldErrors> + Send,
    ) -> Result<Customer, StoreError> {
        let mut conn = self.conn().await?;
        let mut email = String::new();
        let email_ref = &mut email;
        conn.transaction(async |conn| {
            let before = lock_live(conn, id, if_match).await?;
            let next = change(&before.fields()?).map_err(StoreError::Invalid)?;
            *email_ref = next.email.as_str().to_owned();
            let after: Customer = diesel::update(customers::table.find(id))
                .set((
                    customers::name.eq(next.name.as_str()),
                    customers::email.eq(next.email.as_str()),
                    customers::phone.eq(next.phone.as_ref().map(|p| p.as_str())),
                    customers::version.eq(customers::version + 1),
                    customers::updated_at.eq(Utc::now()),
                ))
                .returning(Customer::as_returning())
                .get_result(conn)
                .await?;
            CUSTOMER
                .record(
                    conn,
                    id,
                    Op::Update,
                    after.version,
                    Some(&before),
                    Some(&after),
                )
                .await?;
            Ok(after)
        })
        .await
        .map_err(|e| email_conflict(&email)(e))
        .inspect(|_| metrics::counter!("customer_api_writes_total", "op" => "update").increment(1))
    }

    /// Soft-deletes the customer; its delete event carries the last full image as `before`.
    pub async fn delete(&self, id: Uuid, if_match: &IfMatch) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        conn.transaction(async |conn| {
            let before = lock_live(conn, id, if_match).await?;
            let now = Utc::now();
            let version: i64 = diesel::update(customers::table.find(id))
                .set((
                    customers::deleted_at.eq(now),
                    customers::updated_at.eq(now),
                    customers::version.eq(customers::version + 1),
                ))
                .returning(customers::version)
                .get_result(conn)
                .await?;
            CUSTOMER
                .record(conn, id, Op::Delete, version, Some(&before), None)
                .await?;
            Ok(())
        })
        .await
        .inspect(|_| metrics::counter!("customer_api_writes_total", "op" => "delete").increment(1))
    }
}

fn live(id: Uuid) -> customers::BoxedQuery<'static, diesel::pg::Pg> {
    customers::table
        .filter(customers::id.eq(id))
        .filter(customers::deleted_at.is_null())
        .into_boxed()
}

/// Locks the live row (serializing writers of this customer) and checks `If-Match`.
async fn lock_live(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    if_match: &IfMatch,
) -> Result<Customer, StoreError> {
    let current = customers::table
        .filter(customers::id.eq(id))
        .filter(customers::deleted_at.is_null())
        .select(Customer::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?
        .ok_or(StoreError::NotFound(id))?;
    if !if_match.allows(current.version) {
        return Err(StoreError::VersionMismatch {
            current: current.version,
        });
    }
    Ok(current)
}
