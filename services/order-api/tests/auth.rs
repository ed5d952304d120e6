//! Who may call order-api: reading orders and the generator's status needs a valid bearer
//! token; placing orders and starting or stopping the generator need role admin; health,
//! metrics and the API docs stay open.

mod common;

use common::Orders as _;
use common::{client_with_token, problem, spawn_app, token};
use reqwest::{header, Client, StatusCode};
use serde_json::json;
use web::auth::Role;

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
