//! Who may call movie-api: reads of movies, casts and genres need a valid bearer token, writes
//! role admin; health, metrics and the API docs stay open.

mod common;

use common::Catalog as _;
use common::{client_with_token, spawn_app, token};
use reqwest::{header, Client, StatusCode};
use serde_json::json;
use web::auth::Role;

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
