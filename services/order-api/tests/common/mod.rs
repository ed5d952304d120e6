//! order-api for the shared harness (`test_support::api`), and the helpers particular to
//! orders and the generator.
#![allow(dead_code, unused_imports)]

use clap::Parser;
use order_api::{config::Config, startup};
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};
pub use test_support::api::{client_with_token, id_of, problem, ApiApp as TestApp};
use test_support::TestEnv;
pub use test_support::{jwt_keys as keys, token};

pub async fn spawn_app() -> TestApp {
    let database_url = TestEnv::get().fresh_database().await;
    TestApp::start(
        "order-api",
        database_url,
        &[],
        |args, shutdown| async move {
            startup::build(&Config::try_parse_from(args)?, &shutdown).await
        },
    )
    .await
}

/// What order tests do often.
pub trait Orders {
    async fn post_order(&self, body: &Value) -> Response;
    /// Places an order and returns its JSON.
    async fn create(&self, symbol: &str, quantity: i64) -> Value;
    /// POSTs `body` (none if `None`) to a generator endpoint and returns status and JSON.
    async fn generator(&self, action: &str, body: Option<Value>) -> (StatusCode, Value);
    async fn orders_rows(&self) -> i64;
    /// (order rows, outbox rows): compare before and after a request that must write nothing.
    async fn written(&self) -> (i64, i64);
}

impl Orders for TestApp {
    async fn post_order(&self, body: &Value) -> Response {
        self.post("/api/v1/orders", body).await
    }

    async fn create(&self, symbol: &str, quantity: i64) -> Value {
        let response = self
            .post_order(&json!({"symbol": symbol, "quantity": quantity}))
            .await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        response.json().await.unwrap()
    }

    async fn generator(&self, action: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self
            .client
            .post(self.url(&format!("/api/v1/orders/generator/{action}")));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        (response.status(), response.json().await.unwrap())
    }

    async fn orders_rows(&self) -> i64 {
        self.rows("orders").await
    }

    async fn written(&self) -> (i64, i64) {
        (self.orders_rows().await, self.outbox_rows().await)
    }
}
