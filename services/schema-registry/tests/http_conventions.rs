//! Confluent's HTTP conventions: accepted request media types, the response media type, error
//! bodies for anything that goes wrong, and the platform's health and metrics endpoints.

mod common;

use common::{spawn_app, REGISTRY_JSON, USER_V1};
use reqwest::{header, Method};
use serde_json::{json, Value};

#[tokio::test]
async fn confluent_request_media_types_are_accepted_others_are_415() {
    let app = spawn_app().await;
    let body = json!({"schema": USER_V1}).to_string();
    for content_type in [
        Some(REGISTRY_JSON),
        Some("application/vnd.schemaregistry+json"),
        Some("application/json; charset=utf-8"),
        Some("application/octet-stream"),
        None,
    ] {
        let mut request = app
            .client
            .post(app.url("/subjects/users-value/versions"))
            .body(body.clone());
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200, "{content_type:?}");
        assert_eq!(response.headers()[header::CONTENT_TYPE], REGISTRY_JSON);
        assert_eq!(response.json::<Value>().await.unwrap(), json!({"id": 1}));
    }

    let response = app
        .client
        .post(app.url("/subjects/users-value/versions"))
        .header(header::CONTENT_TYPE, "text/plain")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    assert_eq!(response.headers()[header::CONTENT_TYPE], REGISTRY_JSON);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error_code"], 415, "{error}");
}

#[tokio::test]
async fn malformed_bodies_unknown_paths_and_methods_get_confluent_error_bodies() {
    let app = spawn_app().await;
    let raw = |method: Method, path: &str, body: &str| {
        app.client
            .request(method, app.url(path))
            .header(header::CONTENT_TYPE, REGISTRY_JSON)
            .body(body.to_owned())
            .send()
    };
    for (method, path, body, code) in [
        (Method::POST, "/subjects/s/versions", "{\"schema\":", 400),
        (Method::POST, "/subjects/s/versions", "{\"schema\": 5}", 422),
        (Method::PUT, "/config", "[1]", 422),
        (Method::GET, "/no/such/path", "", 404),
        (Method::GET, "/schemas/ids/not-a-number", "", 404),
        (Method::PATCH, "/subjects", "", 405),
    ] {
        let response = raw(method.clone(), path, body).await.unwrap();
        assert_eq!(response.status().as_u16(), code, "{method} {path}");
        assert_eq!(response.headers()[header::CONTENT_TYPE], REGISTRY_JSON);
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error_code"], code, "{error}");
        assert!(error["message"].is_string(), "{error}");
    }
    assert_eq!(app.get("/subjects").await.ok(), json!([]));
    assert_eq!(app.get("/").await.ok(), json!({}));
}

#[tokio::test]
async fn health_readiness_and_metrics_are_served() {
    let app = spawn_app().await;
    app.register("users-value", USER_V1).await;
    for path in ["/health/live", "/health/ready"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], "UP");
        assert_eq!(body["service"], "schema-registry");
    }
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("schema_registry_registrations_total"),
        "{metrics}"
    );
}
