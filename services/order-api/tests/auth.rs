//! Who may call order-api: reading orders and the generator's status needs a valid bearer
//! token; placing orders and starting or stopping the generator need role admin; health,
//! metrics and the API docs stay open.

mod common;

use common::Orders as _;
use common::{client_with_token, keys, problem, spawn_app, token};
use reqwest::{header, Client, StatusCode};
use serde_json::json;
use std::time::Duration;
use web::auth::{Claims, Role};

#[tokio::test]
async fn reads_need_a_token_and_writes_need_admin() {
    let app = spawn_app().await;
    app.create("AAPL", 10).await;
    let reader = client_with_token(&token(Role::Reader));

    for path in ["/api/v1/orders", "/api/v1/orders/generator"] {
        let anonymous = Client::new().get(app.url(path)).send().await.unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert!(anonymous.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .starts_with("Bearer"));
        let (_, body) = problem(anonymous).await;
        assert_eq!(body["error"], "unauthorized");
        let read = reader.get(app.url(path)).send().await.unwrap();
        assert_eq!(read.status(), StatusCode::OK, "{path}");
    }

    let before = app.written().await;
    for attempt in [
        reader
            .post(app.url("/api/v1/orders"))
            .json(&json!({"symbol": "MSFT", "quantity": 1})),
        reader.post(app.url("/api/v1/orders/generator/start")),
        reader.post(app.url("/api/v1/orders/generator/stop")),
    ] {
        let (status, body) = problem(attempt.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["error"], "forbidden");
    }
    assert_eq!(app.written().await, before, "nothing is written");
}

#[tokio::test]
async fn expired_and_tampered_tokens_are_401_and_admin_succeeds() {
    let app = spawn_app().await;
    let mut expired = Claims::new("tester", Role::Admin, Duration::from_secs(60));
    expired.iat -= 7200;
    expired.exp -= 7200;
    let reader = token(Role::Reader);
    let admin = token(Role::Admin);
    let mut parts: Vec<&str> = reader.split('.').collect();
    parts[1] = admin.split('.').nth(1).unwrap();
    let order = json!({"symbol": "MSFT", "quantity": 1});
    for bad in [keys().sign(&expired), parts.join(".")] {
        let response = client_with_token(&bad)
            .post(app.url("/api/v1/orders"))
            .json(&order)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = client_with_token(&admin)
        .post(app.url("/api/v1/orders"))
        .json(&order)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn health_metrics_and_docs_need_no_token() {
    let app = spawn_app().await;
    for path in [
        "/health/live",
        "/health/ready",
        "/metrics",
        "/api/v1/orders/openapi.json",
        "/api/v1/orders/docs/",
    ] {
        let response = Client::new().get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
}
