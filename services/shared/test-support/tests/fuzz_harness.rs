//! The fuzzing harness can fail: against a server with a planted bug (a 500 for some valid
//! input) `fuzz_openapi` must fail the test, and against the same server without it, pass.

use axum::{extract::Query, http::StatusCode, routing::get, Json, Router};
use futures::FutureExt;
use serde_json::{json, Value};
use std::collections::HashMap;

const DOCUMENT: &str = r#"{
  "openapi": "3.1.0",
  "info": {"title": "planted", "version": "1"},
  "paths": {"/square": {"get": {
    "parameters": [{"name": "n", "in": "query", "required": true,
                    "schema": {"type": "integer", "minimum": 0, "maximum": 1000}}],
    "responses": {
      "200": {"description": "n squared", "content": {"application/json": {"schema": {"type": "object"}}}},
      "400": {"description": "not a number", "content": {"application/json": {"schema": {"type": "object"}}}}
    }}}}
}"#;

async fn serve(planted_bug: bool) -> String {
    let square = move |Query(q): Query<HashMap<String, String>>| async move {
        match q.get("n").and_then(|n| n.parse::<i64>().ok()) {
            Some(n) if planted_bug && n > 900 => {
                (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({})))
            }
            Some(n) if (0..=1000).contains(&n) => (StatusCode::OK, Json(json!({"square": n * n}))),
            _ => (
                StatusCode::BAD_REQUEST,
                Json(
                    json!({"error": "invalid_query", "message": "n: 0 to 1000", "details": {"n": "0 to 1000"}}),
                ),
            ),
        }
    };
    let app = Router::new()
        .route(
            "/openapi.json",
            get(|| async { Json(serde_json::from_str::<Value>(DOCUMENT).unwrap()) }),
        )
        .route("/square", get(square))
        .method_not_allowed_fallback(|| async {
            let body = json!({"error": "method_not_allowed", "message": "GET only", "details": {}});
            (
                StatusCode::METHOD_NOT_ALLOWED,
                [("allow", "GET,HEAD")],
                Json(body),
            )
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("{base}/openapi.json")
}

#[tokio::test]
async fn a_planted_server_error_fails_the_fuzz_run_and_its_absence_passes_it() {
    let buggy = serve(true).await;
    let outcome = std::panic::AssertUnwindSafe(test_support::fuzz::fuzz_openapi(&buggy, "t"))
        .catch_unwind()
        .await;
    let message = outcome
        .expect_err("the planted 500 went unnoticed")
        .downcast::<String>()
        .map(|m| *m)
        .unwrap_or_default();
    assert!(message.contains("Server error"), "{message}");
    test_support::fuzz::fuzz_openapi(&serve(false).await, "t").await;
}
