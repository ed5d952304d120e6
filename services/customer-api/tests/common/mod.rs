//! customer-api for the shared harness (`test_support::api`), and the helpers particular to
//! customers.
#![allow(dead_code, unused_imports)]

use clap::Parser;
use customer_api::{config::Config, startup};
use reqwest::Response;
use serde_json::{json, Value};
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
