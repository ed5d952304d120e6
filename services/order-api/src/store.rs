//! Order persistence. Placing an order is one transaction holding the row and its
//! `order.created` outbox event, so a failure leaves neither.
//!
//! [`OrderStore::place`] is the one way in: the HTTP handler and the generator both hand it an
//! [`OrderInput`] and it parses, inserts and records the event. Orders are immutable, so there
//! is no update path and every order has exactly one event, version 1.

use crate::domain::{NewOrder, OrderInput};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use diesel_async::{AsyncConnection, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations};
use events::Op;
use outbox::{Aggregate, OutboxError};
use runtime::db::PgPool;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use web::{
    paging::{Page, PageRequest},
    FieldErrors,
};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");
/// The service's schema: the outbox first, then its own tables.
pub const ALL_MIGRATIONS: &[EmbeddedMigrations] = &[outbox::MIGRATIONS, MIGRATIONS];

pub const SERVICE: &str = "order-api";
pub const TABLE: &str = "orders";
pub const TOPIC: &str = events::Topic::ORDERS.name();
pub const AGGREGATE: &str = "order";
const ORDER: Aggregate = Aggregate {
    service: SERVICE,
    name: AGGREGATE,
    table: TABLE,
    topic: TOPIC,
};

/// Counter of placed orders, labelled by who placed them.
pub const ORDERS_CREATED: &str = "order_api_orders_created_total";

diesel::table! {
    orders (id) {
        id -> Uuid,
        symbol -> Text,
        quantity -> Int4,
        customer_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

/// An order as the API returns it and as its event carries it (`after`).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Serialize, Deserialize, ToSchema)]
#[diesel(table_name = orders)]
pub struct Order {
    pub id: Uuid,
    #[schema(example = "AAPL")]
    pub symbol: String,
    #[schema(example = 10)]
    pub quantity: i32,
    pub customer_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// Who placed an order (a metrics label; the order itself is the same either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Api,
    Generator,
}

impl Origin {
    fn label(self) -> &'static str {
        match self {
            Origin::Api => "api",
            Origin::Generator => "generator",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("order {0} not found")]
    NotFound(Uuid),
    #[error("invalid order")]
    Invalid(FieldErrors),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    #[error("database error: {0}")]
    Database(#[from] DieselError),
}

#[derive(Clone)]
pub struct OrderStore {
    pool: PgPool,
}

impl OrderStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    async fn conn(&self) -> Result<runtime::db::PgConn, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    /// Parses `input` and places the order: the path every order takes, whoever places it.
    pub async fn place(&self, input: &OrderInput, origin: Origin) -> Result<Order, StoreError> {
        let order = input.parse().map_err(StoreError::Invalid)?;
        let placed = self.create(order).await?;
        metrics::counter!(ORDERS_CREATED, "origin" => origin.label()).increment(1);
        Ok(placed)
    }

    /// Inserts the order and records its `order.created` event, in one transaction.
    async fn create(&self, order: NewOrder) -> Result<Order, StoreError> {
        let mut conn = self.conn().await?;
        conn.transaction(async |conn| {
            let placed: Order = diesel::insert_into(orders::table)
                .values((
                    orders::id.eq(Uuid::now_v7()),
                    orders::symbol.eq(order.symbol.as_str()),
                    orders::quantity.eq(order.quantity.get()),
                    orders::customer_id.eq(order.customer_id.map(|c| c.get())),
                    orders::created_at.eq(Utc::now()),
                ))
                .returning(Order::as_returning())
                .get_result(conn)
                .await?;
            ORDER
                .record(conn, placed.id, Op::Create, 1, None, Some(&placed))
                .await?;
            Ok::<_, StoreError>(placed)
        })
        .await
    }

    pub async fn get(&self, id: Uuid) -> Result<Order, StoreError> {
        let mut conn = self.conn().await?;
        orders::table
            .find(id)
            .select(Order::as_select())
            .first(&mut conn)
            .await
            .optional()?
            .ok_or(StoreError::NotFound(id))
    }

    /// Newest first: up to `page.limit` orders and whether more follow.
    pub async fn list(&self, page: &PageRequest) -> Result<Page<Order>, StoreError> {
        let mut conn = self.conn().await?;
        let query = orders::table
            .order((orders::created_at.desc(), orders::id.desc()))
            .limit(page.limit + 1)
            .select(Order::as_select())
            .into_boxed();
        let rows = web::starting_at!(query, orders, page.start)
            .load(&mut conn)
            .await?;
        Ok(Page::from_rows(rows, page.limit))
    }
}
