//! Spawns order-api in-process on a free port against a fresh database, like a user's
//! deployment but one per test.
#![allow(dead_code)]

use clap::Parser;
use order_api::{config::Config, startup};
use reqwest::{Client, Response, StatusCode};
use runtime::Shutdown;
use serde_json::{json, Value};
use std::time::Duration;
use test_support::TestEnv;
use web::auth::{Claims, JwtKeys, JwtSecret, Role};

/// The secret the test app verifies tokens with (the gateway would sign with the same one).
pub const JWT_SECRET: &str = "the-api-integration-tests-shared-jwt-secret";

pub fn keys() -> JwtKeys {
    JwtKeys::new(&JWT_SECRET.parse::<JwtSecret>().expect("a valid secret"))
}

/// A valid token for `role`, as the gateway's login would issue it.
pub fn token(role: Role) -> String {
    keys().sign(&Claims::new("tester", role, Duration::from_secs(3600)))
}

/// A client that sends `Authorization: Bearer <token>` with every request.
pub fn client_with_token(token: &str) -> Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}")
            .parse()
            .expect("a token is a valid header"),
    );
    Client::builder()
        .default_headers(headers)
        .build()
        .expect("building a client")
}

pub struct TestApp {
    pub base: String,
    pub database_url: String,
    pub env: TestEnv,
    pub client: Client,
    shutdown: Shutdown,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}

pub async fn spawn_app() -> TestApp {
    let env = TestEnv::get();
    let database_url = env.fresh_database().await;
    let config = Config::try_parse_from([
        "order-api",
        "--addr",
        "127.0.0.1:0",
        "--database-url",
        &database_url,
        "--auth-mode",
        "jwt",
        "--jwt-secret",
        JWT_SECRET,
    ])
    .expect("valid test config");
    let shutdown = Shutdown::new();
    let app = startup::build(&config, &shutdown)
        .await
        .expect("building order-api");
    let listener = runtime::serve::bind(config.addr).await.expect("binding");
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(runtime::serve::serve(
        listener,
        app.router,
        shutdown.clone(),
    ));
    TestApp {
        base,
        database_url,
        env,
        client: client_with_token(&token(Role::Admin)),
        shutdown,
    }
}

/// A problem response's status and body, checked for the platform's error shape.
pub async fn problem(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let body: Value = response.json().await.expect("error bodies are JSON");
    assert!(
        body["error"].is_string() && body["message"].is_string() && body["details"].is_object(),
        "{body}"
    );
    (status, body)
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post_order(&self, body: &Value) -> Response {
        self.client
            .post(self.url("/api/v1/orders"))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Places an order and returns its JSON.
    pub async fn create(&self, symbol: &str, quantity: i64) -> Value {
        let response = self
            .post_order(&json!({"symbol": symbol, "quantity": quantity}))
            .await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        response.json().await.unwrap()
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let response = self.client.get(self.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.unwrap()
    }

    /// POSTs `body` (none if `None`) to a generator endpoint and returns status and JSON.
    pub async fn generator(&self, action: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self
            .client
            .post(self.url(&format!("/api/v1/orders/generator/{action}")));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        (response.status(), response.json().await.unwrap())
    }

    pub async fn orders_rows(&self) -> i64 {
        test_support::count(&self.database_url, "SELECT count(*) AS n FROM orders").await
    }

    pub async fn outbox_rows(&self) -> i64 {
        test_support::count(&self.database_url, "SELECT count(*) AS n FROM outbox").await
    }

    /// (order rows, outbox rows): compare before and after a request that must write nothing.
    pub async fn written(&self) -> (i64, i64) {
        (self.orders_rows().await, self.outbox_rows().await)
    }
}
