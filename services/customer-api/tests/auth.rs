//! Who may call customer-api: reads need a valid bearer token, writes role admin; health,
//! metrics and the API docs stay open. Every refusal is in the platform's error format.

mod common;

use clap::Parser;
use common::Customers as _;
use common::{client_with_token, keys, spawn_app, token, TestApp};
use customer_api::{config::Config, startup};
use reqwest::{header, Client, Response, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;
use web::auth::{Claims, Role};

async fn problem(response: Response) -> (StatusCode, Option<String>, Value) {
    let status = response.status();
    let challenge = response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned());
    let body: Value = response.json().await.expect("error bodies are JSON");
    assert!(
        body["error"].is_string() && body["message"].is_string() && body["details"].is_object(),
        "{body}"
    );
    (status, challenge, body)
}

fn new_customer() -> Value {
    json!({"name": "Ada Lovelace", "email": format!("{}@example.com", test_support::unique("ada"))})
}

async fn list_with(app: &TestApp, client: &Client) -> Response {
    client
        .get(app.url("/api/v1/customers"))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_request_without_a_token_is_401_with_a_bearer_challenge() {
    let app = spawn_app().await;
    let (status, challenge, body) = problem(list_with(&app, &Client::new()).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "unauthorized");
    assert!(challenge.unwrap().starts_with("Bearer realm="));

    let before = app.written().await;
    let response = Client::new()
        .post(app.url("/api/v1/customers"))
        .json(&new_customer())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.written().await, before, "nothing is written");
}

#[tokio::test]
async fn a_reader_may_read_but_not_write() {
    let app = spawn_app().await;
    let created = app.create("Grace Hopper").await;
    let reader = client_with_token(&token(Role::Reader));
    assert_eq!(list_with(&app, &reader).await.status(), StatusCode::OK);
    let one = app.url(&format!(
        "/api/v1/customers/{}",
        created["id"].as_str().unwrap()
    ));
    assert_eq!(
        reader.get(&one).send().await.unwrap().status(),
        StatusCode::OK
    );

    let before = app.written().await;
    let attempts = [
        reader
            .post(app.url("/api/v1/customers"))
            .json(&new_customer()),
        reader.put(&one).json(&new_customer()),
        reader.patch(&one).json(&json!({"name": "Renamed"})),
        reader.delete(&one),
    ];
    for attempt in attempts {
        let (status, _, body) = problem(attempt.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["error"], "forbidden");
    }
    assert_eq!(app.written().await, before, "nothing is written");
}

#[tokio::test]
async fn an_admin_token_may_write() {
    let app = spawn_app().await;
    let admin = client_with_token(&token(Role::Admin));
    let response = admin
        .post(app.url("/api/v1/customers"))
        .json(&new_customer())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn expired_tampered_and_malformed_tokens_are_401() {
    let app = spawn_app().await;
    let mut expired = Claims::new("tester", Role::Admin, Duration::from_secs(60));
    expired.iat -= 7200;
    expired.exp -= 7200;
    let expired = keys().sign(&expired);

    let reader = token(Role::Reader);
    let admin = token(Role::Admin);
    let mut parts: Vec<&str> = reader.split('.').collect();
    parts[1] = admin.split('.').nth(1).unwrap();
    let tampered = parts.join(".");

    for (what, token) in [
        ("expired", expired.as_str()),
        ("tampered", tampered.as_str()),
        ("malformed", "not-a-jwt"),
    ] {
        let (status, challenge, body) =
            problem(list_with(&app, &client_with_token(token)).await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
        assert!(
            challenge.unwrap().contains("error=\"invalid_token\""),
            "{what}"
        );
    }
    let basic = Client::new()
        .get(app.url("/api/v1/customers"))
        .basic_auth("admin", Some("secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn health_metrics_and_docs_need_no_token() {
    let app = spawn_app().await;
    for path in [
        "/health/live",
        "/health/ready",
        "/metrics",
        "/api/v1/customers/openapi.json",
        "/api/v1/customers/docs/",
    ] {
        let response = Client::new().get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn jwt_mode_without_a_secret_refuses_to_start_and_off_mode_is_open() {
    let env = test_support::TestEnv::get();
    let database_url = env.fresh_database().await;
    let args = |mode: &'static str| {
        Config::try_parse_from([
            "customer-api",
            "--addr",
            "127.0.0.1:0",
            "--database-url",
            &database_url,
            "--auth-mode",
            mode,
        ])
        .unwrap()
    };
    let mut jwt = args("jwt");
    jwt.auth.jwt_secret = None;
    let Err(error) = startup::build(&jwt).await else {
        panic!("no secret, no start");
    };
    assert!(error.to_string().contains("JWT_SECRET"), "{error}");

    let app = startup::build(&args("off")).await.unwrap();
    let listener = runtime::serve::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = runtime::Shutdown::new();
    tokio::spawn(runtime::serve::serve(listener, app, shutdown.clone()));
    let response = Client::new()
        .post(format!("{base}/api/v1/customers"))
        .json(&new_customer())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    shutdown.trigger();
}
