//! Spawns customer-api in-process on a free port against a fresh database, like a user's
//! deployment but one per test.
#![allow(dead_code)]

use clap::Parser;
use customer_api::{config::Config, startup};
use reqwest::{Client, Response};
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
    let database_url = TestEnv::get().fresh_database().await;
    spawn_app_with(database_url, &[]).await
}

/// The app on `database_url` (a fresh database, or one reached through a proxy) with `extra`
/// flags.
pub async fn spawn_app_with(database_url: String, extra: &[&str]) -> TestApp {
    let env = TestEnv::get();
    let args = [
        "customer-api",
        "--addr",
        "127.0.0.1:0",
        "--database-url",
        &database_url,
        "--auth-mode",
        "jwt",
        "--jwt-secret",
        JWT_SECRET,
    ];
    let config = Config::try_parse_from(args.iter().chain(extra)).expect("valid test config");
    let app = startup::build(&config)
        .await
        .expect("building customer-api");
    let listener = runtime::serve::bind(config.addr).await.expect("binding");
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = Shutdown::new();
    tokio::spawn(runtime::serve::serve(listener, app, shutdown.clone()));
    TestApp {
        base,
        database_url,
        env,
        client: client_with_token(&token(Role::Admin)),
        shutdown,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post_customer(&self, body: &Value) -> Response {
        self.client
            .post(self.url("/api/v1/customers"))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// POSTs `body` as it is, labelled JSON (for bodies `serde_json` would never write).
    pub async fn post_raw_json(&self, body: &str) -> Response {
        self.client
            .post(self.url("/api/v1/customers"))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap()
    }

    /// Creates a customer and returns its JSON.
    pub async fn create(&self, name: &str) -> Value {
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

    pub async fn customers_rows(&self) -> i64 {
        test_support::count(&self.database_url, "SELECT count(*) AS n FROM customers").await
    }

    pub async fn outbox_rows(&self) -> i64 {
        test_support::count(&self.database_url, "SELECT count(*) AS n FROM outbox").await
    }

    /// (customer rows, outbox rows): compare before and after a request that must write nothing.
    pub async fn written(&self) -> (i64, i64) {
        (self.customers_rows().await, self.outbox_rows().await)
    }
}
