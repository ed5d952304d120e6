//! Executions: one row per priced order and, in the same transaction, its
//! `order-execution.created` outbox event (published to `order-executions` by the relay).
//!
//! `order_id` is unique and the insert is `ON CONFLICT (order_id) DO NOTHING`: a redelivered
//! order inserts nothing, records no second event and is reported as a duplicate, whatever
//! the timing (two instances racing on one order serialize on the unique index).
//!
//! Money columns are `NUMERIC`; the bindings travel as integer ten-thousandths and cents and
//! PostgreSQL scales them exactly (`$n::numeric / 10000`), so no binary float is ever stored.

use crate::{
    order::PlacedOrder,
    pricing::{Cents, Pricing, UnitPrice},
};
use chrono::{DateTime, Utc};
use diesel::{
    sql_types::{BigInt, Double, Int4, Nullable, Text, Timestamptz, Uuid as SqlUuid},
    OptionalExtension, QueryableByName,
};
use diesel_async::{AsyncConnection, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations};
use events::Op;
use outbox::OutboxError;
use runtime::db::PgPool;
use serde::Serialize;
use uuid::Uuid;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");
/// The service's schema: the outbox first, then its own tables.
pub const ALL_MIGRATIONS: &[EmbeddedMigrations] = &[outbox::MIGRATIONS, MIGRATIONS];

pub const SERVICE: &str = "order-processor";
pub const TABLE: &str = "order_executions";
pub const TOPIC: &str = events::Topic::ORDER_EXECUTIONS.name();
pub const AGGREGATE: &str = "order-execution";
const EXECUTION: outbox::Aggregate = outbox::Aggregate {
    service: SERVICE,
    name: AGGREGATE,
    table: TABLE,
    topic: TOPIC,
};

/// An execution as its row holds it and its event carries it (`after`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Execution {
    pub id: Uuid,
    pub order_id: Uuid,
    pub symbol: String,
    pub quantity: i32,
    /// The customer of the order, if it had one (the notifier mails them).
    pub customer_id: Option<Uuid>,
    pub unit_price: UnitPrice,
    pub execution_price: Cents,
    pub priced_at: DateTime<Utc>,
}

/// What recording an execution did.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    /// A new execution and its event.
    New(Execution),
    /// The order was priced before: nothing written.
    Duplicate,
}

/// `GET /metrics/orders`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Totals {
    pub total_orders_processed: i64,
    /// Mean execution price, rounded half up to the cent; null while there are none.
    pub average_execution_price: Option<f64>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error(transparent)]
    Outbox(#[from] OutboxError),
}

#[derive(Clone)]
pub struct ExecutionStore {
    pool: PgPool,
}

#[derive(QueryableByName)]
struct Inserted {
    #[diesel(sql_type = Timestamptz)]
    priced_at: DateTime<Utc>,
}

#[derive(QueryableByName)]
struct Aggregate {
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = Nullable<Double>)]
    average: Option<f64>,
}

impl ExecutionStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    async fn conn(&self) -> Result<runtime::db::PgConn, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    /// Records the execution of `order` at `pricing` with its event, unless the order was
    /// priced before.
    pub async fn record(
        &self,
        order: &PlacedOrder,
        pricing: Pricing,
    ) -> Result<Recorded, StoreError> {
        let mut conn = self.conn().await?;
        conn.transaction(async |conn| {
            let id = Uuid::now_v7();
            let inserted: Option<Inserted> = diesel::sql_query(
                "INSERT INTO order_executions \
                   (id, order_id, symbol, quantity, customer_id, unit_price, execution_price) \
                 VALUES ($1, $2, $3, $4, $5, $6::numeric / 10000, $7::numeric / 100) \
                 ON CONFLICT (order_id) DO NOTHING \
                 RETURNING priced_at",
            )
            .bind::<SqlUuid, _>(id)
            .bind::<SqlUuid, _>(order.id)
            .bind::<Text, _>(&order.symbol)
            .bind::<Int4, _>(order.quantity)
            .bind::<Nullable<SqlUuid>, _>(order.customer_id)
            .bind::<BigInt, _>(pricing.unit_price.ten_thousandths())
            .bind::<BigInt, _>(pricing.execution_price.get())
            .get_result(conn)
            .await
            .optional()?;
            let Some(Inserted { priced_at }) = inserted else {
                return Ok(Recorded::Duplicate);
            };
            let execution = Execution {
                id,
                order_id: order.id,
                symbol: order.symbol.clone(),
                quantity: order.quantity,
                customer_id: order.customer_id,
                unit_price: pricing.unit_price,
                execution_price: pricing.execution_price,
                priced_at,
            };
            EXECUTION
                .record(conn, id, Op::Create, 1, None, Some(&execution))
                .await?;
            Ok::<_, StoreError>(Recorded::New(execution))
        })
        .await
    }

    /// How many orders were priced and their mean execution price.
    pub async fn totals(&self) -> Result<Totals, StoreError> {
        let mut conn = self.conn().await?;
        let aggregate: Aggregate = diesel::sql_query(
            "SELECT count(*) AS n, round(avg(execution_price), 2)::float8 AS average \
             FROM order_executions",
        )
        .get_result(&mut conn)
        .await?;
        Ok(Totals {
            total_orders_processed: aggregate.n,
            average_execution_price: aggregate.average,
        })
    }
}
