//! Reads stay open, as on Confluent's registry; every write (register, delete, change a
//! compatibility level) needs an admin token, so one anonymous request can no longer delete a
//! subject or set a level that stops a relay from starting.

mod common;

use common::{spawn_app, USER_V1};
use reqwest::{Client, Method, StatusCode};
use serde_json::json;
use web::auth::Role;

#[tokio::test]
async fn writes_need_an_admin_token_and_reads_stay_open() {
    let app = spawn_app().await;
    let registered = app
        .client
        .post(app.url("/subjects/users-value/versions"))
        .json(&json!({ "schema": USER_V1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), StatusCode::OK, "an admin registers");

    let anonymous = Client::new();
    let writes = [
        (
            Method::POST,
            "/subjects/users-value/versions",
            Some(json!({ "schema": USER_V1 })),
        ),
        (Method::DELETE, "/subjects/users-value", None),
        (
            Method::DELETE,
            "/subjects/users-value/versions/1?permanent=true",
            None,
        ),
        (
            Method::PUT,
            "/config",
            Some(json!({ "compatibility": "NONE" })),
        ),
        (
            Method::PUT,
            "/config/users-value",
            Some(json!({ "compatibility": "NONE" })),
        ),
    ];
    for (method, path, body) in &writes {
        for token in [None, Some(test_support::token(Role::Reader))] {
            let mut request = anonymous.request(method.clone(), app.url(path));
            if let Some(body) = body {
                request = request.json(body);
            }
            if let Some(token) = &token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.unwrap();
            let (expected, code) = if token.is_some() {
                (StatusCode::FORBIDDEN, 40301)
            } else {
                (StatusCode::UNAUTHORIZED, 40101)
            };
            assert_eq!(
                response.status(),
                expected,
                "{method} {path} with {token:?}"
            );
            // In Confluent's error format, which its clients read.
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["error_code"], code, "{body}");
        }
    }
    // Nothing changed, and anyone may read.
    for path in [
        "/subjects",
        "/subjects/users-value/versions",
        "/schemas/ids/1",
        "/config",
    ] {
        let response = anonymous.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
    }
    let versions: serde_json::Value = anonymous
        .get(app.url("/subjects/users-value/versions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(versions, json!([1]));
}
