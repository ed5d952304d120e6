//! Hostile input gets a 4xx in the platform's error format and writes nothing, never a 5xx:
//! a NUL in a text field or a filter, trailing bytes after the JSON body, a crafted cursor.

mod common;

use common::spawn_app;
use common::Customers as _;
use reqwest::StatusCode;
use serde_json::Value;

async fn problem(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let body: Value = response.json().await.expect("error bodies are JSON");
    assert!(
        body["error"].is_string() && body["message"].is_string(),
        "{body}"
    );
    (status, body)
}

#[tokio::test]
async fn a_nul_in_a_text_field_is_422_naming_it_and_writes_nothing() {
    let app = spawn_app().await;
    for body in [
        r#"{"name": "Ada\u0000Lovelace", "email": "ada@example.com"}"#,
        r#"{"name": "Ada", "email": "ada@example.com", "phone": "+1 555\u0000"}"#,
    ] {
        let (status, problem) =
            problem(app.post_raw_json(common::CUSTOMERS_PATH, body).await).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {problem}"
        );
        assert_eq!(problem["error"], "validation_failed");
        assert_eq!(
            problem["details"].as_object().unwrap().len(),
            1,
            "{problem}"
        );
    }
    assert_eq!(app.written().await, (0, 0));
}

#[tokio::test]
async fn trailing_bytes_after_the_json_body_are_400_and_write_nothing() {
    let app = spawn_app().await;
    let body = r#"{"name": "Ada", "email": "ada@example.com"}{"name": "Eve"}"#;
    let (status, problem) = problem(app.post_raw_json(common::CUSTOMERS_PATH, body).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert_eq!(problem["error"], "malformed_json");
    assert_eq!(app.written().await, (0, 0));
}

#[tokio::test]
async fn a_crafted_cursor_or_a_nul_in_a_query_is_400() {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    let app = spawn_app().await;
    // A well-formed cursor whose timestamp lies far outside what PostgreSQL can compare.
    let crafted = URL_SAFE_NO_PAD.encode(format!("-8210298412800000000|{}", uuid::Uuid::nil()));
    for query in [
        format!("cursor={crafted}"),
        "cursor=%00".to_owned(),
        "limit=1%00".to_owned(),
    ] {
        let response = app
            .client
            .get(app.url(&format!("/api/v1/customers?{query}")))
            .send()
            .await
            .unwrap();
        let (status, problem) = problem(response).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {problem}");
    }
}
