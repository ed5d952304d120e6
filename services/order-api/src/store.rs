//! Order persistence. Placing an order is one transaction holding the row and its
//! `order.created` outbox event, so a failure leaves neither.
//!
//! [`place`] is the one way in: the HTTP handler and the generator both hand it an
//! [`OrderInput`] and it parses, inserts and records the event. Orders are immutable, so there
//! is no update path and every order has exactly one event, version 1.

use crate::domain::{NewOrder, OrderInput};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use diesel_migrations::{embed_migrations, EmbeddedMigrations};
use outbox::Aggregate;
use resource::{Collection, Conn, Creatable, KeyRange, Lock, Store, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use web::{paging::PageRequest, FieldErrors};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");
/// The service's schema: the outbox and the snapshots first, then its own tables.
pub const ALL_MIGRATIONS: &[EmbeddedMigrations] =
    &[outbox::MIGRATIONS, resource::MIGRATIONS, MIGRATIONS];

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

/// Orders as a resource: created, never changed.
pub struct Orders;

pub type OrderStore = Store<Orders>;

impl Collection for Orders {
    type Row = Order;
    type Filter = ();
    const AGGREGATE: Aggregate = ORDER;
    const WRITES_METRIC: &'static str = "order_api_writes_total";
    const VERSIONED: bool = false;

    fn key(row: &Order) -> (DateTime<Utc>, Uuid) {
        (row.created_at, row.id)
    }

    fn version(_: &Order) -> i64 {
        1
    }

    async fn find(conn: &mut Conn, id: Uuid, _: Lock) -> QueryResult<Option<Order>> {
        orders::table
            .find(id)
            .select(Order::as_select())
            .first(conn)
            .await
            .optional()
    }

    async fn page(conn: &mut Conn, page: PageRequest, _: &()) -> QueryResult<Vec<Order>> {
        let query = orders::table
            .order((orders::created_at.desc(), orders::id.desc()))
            .limit(page.limit + 1)
            .select(Order::as_select())
            .into_boxed();
        web::starting_at!(query, orders, page.start)
            .load(conn)
            .await
    }

    async fn count_in(conn: &mut Conn, _: &(), range: KeyRange) -> QueryResult<i64> {
        let query = orders::table.select(diesel::dsl::count_star()).into_boxed();
        resource::in_range!(query, orders, range)
            .get_result(conn)
            .await
    }

    async fn ids_in(
        conn: &mut Conn,
        _: &(),
        range: KeyRange,
        limit: i64,
    ) -> QueryResult<Vec<Uuid>> {
        let query = orders::table
            .order(orders::id.asc())
            .limit(limit)
            .select(orders::id)
            .into_boxed();
        resource::in_range!(query, orders, range).load(conn).await
    }

    /// Orders never change, so a snapshot has no writer to wait for: a plain read.
    async fn lock_rows(conn: &mut Conn, ids: &[Uuid]) -> QueryResult<Vec<Order>> {
        orders::table
            .filter(orders::id.eq_any(ids))
            .order(orders::id.asc())
            .select(Order::as_select())
            .load(conn)
            .await
    }
}

impl Creatable for Orders {
    type Input = OrderInput;
    type Fields = NewOrder;

    fn parse(input: OrderInput) -> Result<NewOrder, FieldErrors> {
        input.parse()
    }

    async fn insert(conn: &mut Conn, order: &NewOrder) -> QueryResult<Order> {
        diesel::insert_into(orders::table)
            .values((
                orders::id.eq(Uuid::now_v7()),
                orders::symbol.eq(order.symbol.as_str()),
                orders::quantity.eq(order.quantity.get()),
                orders::customer_id.eq(order.customer_id.map(|c| c.get())),
                orders::created_at.eq(Utc::now()),
            ))
            .returning(Order::as_returning())
            .get_result(conn)
            .await
    }
}

/// Parses `input` and places the order: the path every order takes, whoever places it.
pub async fn place(
    store: &OrderStore,
    input: &OrderInput,
    origin: Origin,
) -> Result<Order, StoreError> {
    let order = input.parse().map_err(StoreError::Invalid)?;
    let placed = store.create(order).await?;
    metrics::counter!(ORDERS_CREATED, "origin" => origin.label()).increment(1);
    Ok(placed)
}
