//! customer-api for the shared harness (`test_support::api`), and the helpers particular to
//! customers.
#![allow(dead_code, unused_imports)]

use clap::Parser;
use customer_api::{config::Config, startup};
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use reqwest::Response;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;
pub use test_support::api::{client_with_token, id_of, problem, ApiApp as TestApp};
use test_support::conformance::{Change, Resource};
use test_support::TestEnv;
pub use test_support::{jwt_keys as keys, token};

pub const CUSTOMERS_PATH: &str = "/api/v1/customers";

fn customer(n: usize) -> Value {
    json!({"name": format!("Customer {n}"), "email": format!("customer{n}@example.com"), "phone": "+1 555-0100"})
}

fn renamed(n: usize) -> Value {
    json!({"name": format!("Renamed {n}"), "email": format!("renamed{n}@example.com"), "phone": null})
}

/// Customers, as the shared conformance suite sees them.
pub const CUSTOMERS: Resource = Resource {
    kind: "customer",
    service: "customer-api",
    collection: "/api/v1/customers",
    docs: "/api/v1/customers",
    table: "customers",
    writes_metric: "customer_api_writes_total",
    create: customer,
    change: Some(Change {
        replace: renamed,
        patch: || json!({"name": "Patched"}),
    }),
};

pub async fn spawn_app() -> TestApp {
    let database_url = TestEnv::get().fresh_database().await;
    spawn_app_with(database_url, &[]).await
}

/// The app on `database_url` (a fresh database, or one reached through a proxy) with `extra`
/// flags.
pub async fn spawn_app_with(database_url: String, extra: &[&str]) -> TestApp {
    TestApp::start("customer-api", database_url, extra, |args, _| async move {
        startup::build(&Config::try_parse_from(args)?).await
    })
    .await
}

/// What customer tests do often.
pub trait Customers {
    async fn post_customer(&self, body: &Value) -> Response;
    /// Creates a customer (a unique email derived from `name`) and returns its JSON.
    async fn create(&self, name: &str) -> Value;
    /// (customer rows, outbox rows): compare before and after a request that must write nothing.
    async fn written(&self) -> (i64, i64);
}

impl Customers for TestApp {
    async fn post_customer(&self, body: &Value) -> Response {
        self.post(CUSTOMERS_PATH, body).await
    }

    async fn create(&self, name: &str) -> Value {
        let email = format!(
            "{}@example.com",
            test_support::unique(&name.to_lowercase().replace(' ', "."))
        );
        let response = self
            .post_customer(&json!({"name": name, "email": email, "phone": "+1 555-0100"}))
            .await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        response.json().await.unwrap()
    }

    async fn written(&self) -> (i64, i64) {
        (self.rows("customers").await, self.outbox_rows().await)
    }
}

/// Live customers in the table at `database_url`: id → (name, version).
pub async fn live_customers(database_url: &str) -> HashMap<String, (String, i64)> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        version: i64,
    }
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    let mut conn = AsyncPgConnection::establish(database_url).await.unwrap();
    diesel::sql_query(
        "SELECT id::text AS id, name, version::bigint AS version FROM customers WHERE deleted_at IS NULL",
    )
    .load::<Row>(&mut conn)
    .await
    .unwrap()
    .into_iter()
    .map(|r| (r.id, (r.name, r.version)))
    .collect()
}

/// Waits until the MongoDB `replica` equals the live customers at `database_url`, document for
/// document (id, name, version).
pub async fn assert_replica_equals_source(
    database_url: &str,
    replica: &mongodb::Collection<Document>,
    wait: Duration,
) {
    let source = live_customers(database_url).await;
    let replica =
        test_support::eventually("the replica to equal the source table", wait, || async {
            let docs: Vec<Document> = replica.find(doc! {}).await.ok()?.try_collect().await.ok()?;
            let replica: HashMap<String, (String, i64)> = docs
                .iter()
                .map(|d| {
                    (
                        d.get_str("_id").unwrap().to_owned(),
                        (
                            d.get_str("name").unwrap().to_owned(),
                            d.get_i64("_version").unwrap(),
                        ),
                    )
                })
                .collect();
            (replica == source).then_some(replica)
        })
        .await;
    assert!(!replica.is_empty(), "a replica of something");
}
