//! customer-api over HTTP against a real PostgreSQL: every success and error case, and for every
//! error, proof that nothing was written.

mod common;

use common::Customers as _;
use common::{problem, spawn_app};
use reqwest::{header, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn create_returns_201_with_location_etag_and_the_customer() {
    let app = spawn_app().await;
    let response = app
        .post_customer(&json!({"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+44 20 7946 0000"}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(response.headers()[header::ETAG], "\"1\"");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/v1/customers/{}", body["id"].as_str().unwrap())
    );
    assert_eq!(body["name"], "Ada Lovelace");
    assert_eq!(body["email"], "ada@example.com");
    assert_eq!(body["phone"], "+44 20 7946 0000");
    assert_eq!(body["version"], 1);
    assert!(body["created_at"].is_string() && body["updated_at"].is_string());

    let fetched: Value = app
        .client
        .get(app.url(&location))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fetched, body);
}

#[tokio::test]
async fn put_replaces_every_field_and_bumps_the_version() {
    let app = spawn_app().await;
    let created = app.create("Grace Hopper").await;
    let url = app.url(&format!(
        "/api/v1/customers/{}",
        created["id"].as_str().unwrap()
    ));
    let response = app
        .client
        .put(&url)
        .header(header::IF_MATCH, "\"1\"")
        .json(&json!({"name": "Grace B. Hopper", "email": "grace@navy.mil"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::ETAG], "\"2\"");
    let updated: Value = response.json().await.unwrap();
    assert_eq!(updated["name"], "Grace B. Hopper");
    assert_eq!(updated["email"], "grace@navy.mil");
    assert_eq!(
        updated["phone"],
        Value::Null,
        "PUT replaces the whole resource"
    );
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["created_at"], created["created_at"]);
}

#[tokio::test]
async fn patch_changes_only_the_fields_it_names() {
    let app = spawn_app().await;
    let created = app.create("Alan Turing").await;
    let url = app.url(&format!(
        "/api/v1/customers/{}",
        created["id"].as_str().unwrap()
    ));
    let response = app
        .client
        .patch(&url)
        .header(header::CONTENT_TYPE, "application/merge-patch+json")
        .body(r#"{"phone": "+44 161 000 0000"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let patched: Value = response.json().await.unwrap();
    assert_eq!(patched["phone"], "+44 161 000 0000");
    assert_eq!(patched["name"], created["name"]);
    assert_eq!(patched["email"], created["email"]);
    assert_eq!(patched["version"], 2);

    let cleared: Value = app
        .client
        .patch(&url)
        .json(&json!({"phone": null}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cleared["phone"], Value::Null);
    assert_eq!(cleared["version"], 3);
}

#[tokio::test]
async fn duplicate_email_is_409_and_writes_nothing() {
    let app = spawn_app().await;
    let first = app.create("First").await;
    let second = app.create("Second").await;
    let before = app.written().await;

    let email = first["email"].as_str().unwrap().to_uppercase();
    let (status, body) = problem(
        app.post_customer(&json!({"name": "Copy", "email": email}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["details"]["email"].is_string());

    let url = app.url(&format!(
        "/api/v1/customers/{}",
        second["id"].as_str().unwrap()
    ));
    let response = app
        .client
        .patch(&url)
        .json(&json!({"email": first["email"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(app.written().await, before);

    // a deleted customer's email is free again
    let first_url = app.url(&format!(
        "/api/v1/customers/{}",
        first["id"].as_str().unwrap()
    ));
    app.client.delete(&first_url).send().await.unwrap();
    let reuse = app
        .post_customer(&json!({"name": "Reuse", "email": first["email"]}))
        .await;
    assert_eq!(reuse.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn invalid_fields_are_422_naming_each_field_and_write_nothing() {
    let app = spawn_app().await;
    let long_name = "x".repeat(401);
    let cases = [
        (json!({"name": "", "email": "a@b.io"}), vec!["name"]),
        (json!({"name": long_name, "email": "a@b.io"}), vec!["name"]),
        (json!({"name": "A", "email": "not-an-email"}), vec!["email"]),
        // Addresses SMTP cannot carry: the notifier could never mail them.
        (
            json!({"name": "A", "email": "a..b@example.com"}),
            vec!["email"],
        ),
        (
            json!({"name": "A", "email": "a,b@example.com"}),
            vec!["email"],
        ),
        (
            json!({"name": "A", "email": "a@b.io", "phone": "call me"}),
            vec!["phone"],
        ),
        (
            json!({"name": "", "email": "x", "phone": "12"}),
            vec!["email", "name", "phone"],
        ),
        (json!({"email": "a@b.io"}), vec!["name"]),
        (json!({"name": 42, "email": "a@b.io"}), vec!["name"]),
        (
            json!({"name": "A", "email": "a@b.io", "vip": true}),
            vec!["vip"],
        ),
    ];
    for (body, fields) in cases {
        let (status, problem) = problem(app.post_customer(&body).await).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {problem}"
        );
        assert_eq!(problem["error"], "validation_failed");
        let named: Vec<&str> = problem["details"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(named, fields, "{body}: {problem}");
    }
    let created = app.create("Valid").await;
    let url = app.url(&format!(
        "/api/v1/customers/{}",
        created["id"].as_str().unwrap()
    ));
    let before = app.written().await;
    let (status, body) = problem(
        app.client
            .patch(&url)
            .json(&json!({"email": "nope"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["details"]["email"].is_string());
    assert_eq!(app.written().await, before);
}
