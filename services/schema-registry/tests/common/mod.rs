//! Spawns schema-registry in-process on a free port against a fresh database, one per test,
//! and talks to it the way Confluent clients do.
#![allow(dead_code)]

use clap::Parser;
use reqwest::{header, Client, Method, StatusCode};
use runtime::Shutdown;
use schema_registry::{config::Config, startup};
use serde_json::{json, Value};
use test_support::TestEnv;

pub const REGISTRY_JSON: &str = "application/vnd.schemaregistry.v1+json";

/// `users` v1: a record with two required fields.
pub const USER_V1: &str = r#"{"type":"record","name":"User","namespace":"example.users","fields":[{"name":"id","type":"long"},{"name":"name","type":"string"}]}"#;

/// `users` v2: v1 plus an optional field with a default (compatible every way).
pub const USER_V2: &str = r#"{"type":"record","name":"User","namespace":"example.users","fields":[{"name":"id","type":"long"},{"name":"name","type":"string"},{"name":"email","type":["null","string"],"default":null}]}"#;

/// A `User` record with exactly these fields (`[{"name":…,"type":…}]` as JSON text).
pub fn user_with(fields: &str) -> String {
    format!(r#"{{"type":"record","name":"User","namespace":"example.users","fields":[{fields}]}}"#)
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
        "schema-registry",
        "--addr",
        "127.0.0.1:0",
        "--database-url",
        &database_url,
        "--db-pool-size",
        "4",
        // Permanent deletes ask the test cluster whether a subject's topic still holds events.
        "--bootstrap-servers",
        &env.bootstrap,
        "--jwt-secret",
        test_support::TEST_JWT_SECRET,
    ])
    .expect("valid test config");
    let app = startup::build(&config)
        .await
        .expect("building schema-registry");
    let base = format!("http://{}", app.local_addr());
    let shutdown = Shutdown::new();
    tokio::spawn(app.run(shutdown.clone()));
    TestApp {
        base,
        database_url,
        env,
        client: admin_client(),
        shutdown,
    }
}

/// A client whose every request carries an admin token, as the relay's does (writes need one).
fn admin_client() -> Client {
    let mut headers = header::HeaderMap::new();
    let bearer = format!("Bearer {}", test_support::admin_token());
    headers.insert(header::AUTHORIZATION, bearer.parse().unwrap());
    Client::builder()
        .no_proxy()
        .default_headers(headers)
        .build()
        .unwrap()
}

/// A registry response: status and JSON body.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    pub fn ok(self) -> Value {
        assert_eq!(self.status, StatusCode::OK, "{}", self.body);
        self.body
    }

    /// Asserts Confluent's error body `{"error_code", "message"}` with `code`, whose first
    /// three digits are the HTTP status; returns the message.
    pub fn error(self, code: u64) -> String {
        assert_eq!(self.body["error_code"], code, "{}", self.body);
        let status = if code >= 1000 { code / 100 } else { code };
        assert_eq!(self.status.as_u16() as u64, status, "{}", self.body);
        let message = self.body["message"].as_str().expect("a message").to_owned();
        assert!(!message.is_empty());
        message
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request as Confluent clients do and checks the response's media type.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut request = self
            .client
            .request(method, self.url(path))
            .header(header::ACCEPT, REGISTRY_JSON);
        if let Some(body) = body {
            request = request
                .header(header::CONTENT_TYPE, REGISTRY_JSON)
                .body(body.to_string());
        }
        let response = request.send().await.expect("the registry answers");
        let status = response.status();
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            REGISTRY_JSON,
            "{path}"
        );
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"));
        Reply { status, body }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.call(Method::DELETE, path, None).await
    }

    /// `POST /subjects/{subject}/versions` with the schema text.
    pub async fn try_register(&self, subject: &str, schema: &str) -> Reply {
        self.post(
            &format!("/subjects/{subject}/versions"),
            json!({ "schema": schema }),
        )
        .await
    }

    /// Registers and returns the id, which must be accepted.
    pub async fn register(&self, subject: &str, schema: &str) -> i64 {
        let body = self.try_register(subject, schema).await.ok();
        body["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("an id: {body}"))
    }

    pub async fn set_level(&self, subject: Option<&str>, level: &str) {
        let path = subject.map_or("/config".to_owned(), |s| format!("/config/{s}"));
        let body = self
            .put(&path, json!({ "compatibility": level }))
            .await
            .ok();
        assert_eq!(body, json!({ "compatibility": level }));
    }

    pub async fn versions(&self, subject: &str) -> Value {
        self.get(&format!("/subjects/{subject}/versions"))
            .await
            .ok()
    }
}
