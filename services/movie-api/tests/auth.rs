//! Who may call movie-api: reads of movies, casts and genres need a valid bearer token, writes
//! role admin; health, metrics and the API docs stay open.

mod common;

use common::Catalog as _;
use common::{client_with_token, keys, spawn_app, token};
use reqwest::{header, Client, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;
use web::auth::{Claims, Role};

#[tokio::test]
async fn every_resource_needs_a_token_and_writes_need_admin() {
    let app = spawn_app().await;
    let cast = app.create_cast("Setsuko Hara").await;
    let cast_url = app.cast_url(common::id_of(&cast).as_str());
    let reader = client_with_token(&token(Role::Reader));

    for path in ["/api/v1/movies", "/api/v1/casts", "/api/v1/genres"] {
        let anonymous = Client::new().get(app.url(path)).send().await.unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert!(anonymous.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .starts_with("Bearer"));
        let (_, body) = common::problem(anonymous).await;
        assert_eq!(body["error"], "unauthorized");
        let read = reader.get(app.url(path)).send().await.unwrap();
        assert_eq!(read.status(), StatusCode::OK, "{path}");
    }

    let before = app.written().await;
    let attempts = [
        reader
            .post(app.url("/api/v1/casts"))
            .json(&json!({"name": "Chishu Ryu"})),
        reader
            .post(app.url("/api/v1/movies"))
            .json(&json!({"title": "Tokyo Story"})),
        reader.patch(&cast_url).json(&json!({"name": "Renamed"})),
        reader.delete(&cast_url),
    ];
    for attempt in attempts {
        let response = attempt.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let (_, body) = common::problem(response).await;
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
    let body = json!({"name": "Chishu Ryu"});
    for bad in [keys().sign(&expired), parts.join(".")] {
        let response = client_with_token(&bad)
            .post(app.url("/api/v1/casts"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = client_with_token(&admin)
        .post(app.url("/api/v1/casts"))
        .json(&body)
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
        "/api/v1/movies/openapi.json",
        "/api/v1/casts/openapi.json",
        "/api/v1/movies/docs/",
    ] {
        let response = Client::new().get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    let _: Value = Client::new()
        .get(app.url("/api/v1/movies/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
}
