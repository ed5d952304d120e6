//! The processor's world for one test: its own database, its own topic prefix, order events
//! produced the way order-api's relay would, and the processor as a real child process.
#![allow(dead_code)]

use chrono::Utc;
use events::{ChangeEvent, Op, Source};
use serde_json::{json, Value};
use std::time::Duration;
use test_support::{process::RunningService, TestEnv};
use uuid::Uuid;

pub const WAIT: Duration = Duration::from_secs(60);

pub struct World {
    pub env: TestEnv,
    pub db: String,
    pub prefix: String,
}

/// An order as order-api writes it into its events.
#[derive(Debug, Clone)]
pub struct Order {
    pub id: Uuid,
    pub symbol: String,
    pub quantity: i64,
    pub customer_id: Option<Uuid>,
}

impl Order {
    pub fn new(symbol: &str, quantity: i64) -> Self {
        Self {
            id: Uuid::now_v7(),
            symbol: symbol.to_owned(),
            quantity,
            customer_id: None,
        }
    }

    pub fn for_customer(mut self, customer_id: Uuid) -> Self {
        self.customer_id = Some(customer_id);
        self
    }

    pub fn row(&self) -> Value {
        json!({
            "id": self.id,
            "symbol": self.symbol,
            "quantity": self.quantity,
            "customer_id": self.customer_id,
            "created_at": Utc::now(),
        })
    }

    /// Its `order.created` event (a new event id on every call, as a re-send would have).
    pub fn created(&self) -> ChangeEvent {
        self.event(Op::Create)
    }

    pub fn event(&self, op: Op) -> ChangeEvent {
        ChangeEvent {
            id: Uuid::now_v7(),
            event_type: ChangeEvent::type_name("order", op),
            op,
            aggregate_type: "order".into(),
            aggregate_id: self.id.to_string(),
            version: 1,
            before: None,
            after: Some(self.row()),
            source: Source {
                service: "order-api".into(),
                table: "orders".into(),
                tx_id: 1,
                committed_at: Utc::now(),
            },
            occurred_at: Utc::now(),
        }
    }
}

/// An execution row, money as PostgreSQL prints the NUMERIC values.
#[derive(Debug, Clone, PartialEq, diesel::QueryableByName)]
pub struct ExecutionRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub order_id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub symbol: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub quantity: i32,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub customer_id: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub unit_price: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub execution_price: String,
}

impl World {
    pub async fn new(name: &str) -> Self {
        let env = TestEnv::get();
        let db = env.fresh_database().await;
        let prefix = test_support::unique(name) + ".";
        Self { env, db, prefix }
    }

    pub fn orders_topic(&self) -> String {
        format!("{}orders", self.prefix)
    }

    /// Starts an order-processor reading this world's orders topic as consumer group `group`
    /// (made unique to this world), writing to `db`.
    pub async fn processor_on(
        &self,
        db: &str,
        group: &str,
        extra: &[(&str, String)],
    ) -> RunningService {
        let mut envs = vec![
            ("ORDER_PROCESSOR_DATABASE_URL", db.to_owned()),
            ("KAFKA_BOOTSTRAP_SERVERS", self.env.bootstrap.clone()),
            ("TOPIC_PREFIX", self.prefix.clone()),
            ("ORDER_PROCESSOR_GROUP", format!("{}{group}", self.prefix)),
            ("RUST_LOG", "info,librdkafka=warn,rdkafka=warn".to_owned()),
        ];
        envs.extend(extra.iter().cloned());
        RunningService::start("order-processor", "ORDER_PROCESSOR_ADDR", &envs).await
    }

    pub async fn processor(&self, group: &str) -> RunningService {
        self.processor_on(&self.db, group, &[]).await
    }

    pub async fn produce(&self, events: &[ChangeEvent]) {
        test_support::topic::produce_events(&self.env.bootstrap, &self.orders_topic(), events).await
    }

    pub async fn produce_raw(&self, key: &str, payload: &[u8]) {
        test_support::topic::produce(
            &self.env.bootstrap,
            &self.orders_topic(),
            &[(key.to_owned(), payload.to_vec())],
        )
        .await
    }

    /// Every execution in `db`, oldest first.
    pub async fn executions_in(db: &str) -> Vec<ExecutionRow> {
        use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
        let mut conn = AsyncPgConnection::establish(db).await.unwrap();
        diesel::sql_query(
            "SELECT order_id::text AS order_id, symbol, quantity, customer_id::text AS customer_id, \
                    unit_price::text AS unit_price, execution_price::text AS execution_price \
             FROM order_executions ORDER BY priced_at, id",
        )
        .load(&mut conn)
        .await
        .unwrap()
    }

    pub async fn executions(&self) -> Vec<ExecutionRow> {
        Self::executions_in(&self.db).await
    }

    /// Waits until `db` holds at least `count` executions and returns them.
    pub async fn wait_for_executions_in(db: &str, count: usize) -> Vec<ExecutionRow> {
        test_support::eventually(&format!("{count} execution(s)"), WAIT, || async {
            let rows = Self::executions_in(db).await;
            (rows.len() >= count).then_some(rows)
        })
        .await
    }

    pub async fn wait_for_executions(&self, count: usize) -> Vec<ExecutionRow> {
        Self::wait_for_executions_in(&self.db, count).await
    }

    /// The outbox events, in outbox order, with their topic column.
    pub async fn outbox(&self) -> Vec<(String, ChangeEvent)> {
        use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            topic: String,
            #[diesel(sql_type = diesel::sql_types::Jsonb)]
            payload: Value,
        }
        let mut conn = AsyncPgConnection::establish(&self.db).await.unwrap();
        let rows: Vec<Row> = diesel::sql_query("SELECT topic, payload FROM outbox ORDER BY id")
            .load(&mut conn)
            .await
            .unwrap();
        rows.into_iter()
            .map(|r| (r.topic, serde_json::from_value(r.payload).unwrap()))
            .collect()
    }
}

/// `GET /metrics/orders` of a running processor.
pub async fn order_totals(processor: &RunningService) -> Value {
    let response = reqwest::get(format!("{}/metrics/orders", processor.http))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}
