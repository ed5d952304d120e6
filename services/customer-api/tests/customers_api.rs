//! customer-api over HTTP against a real PostgreSQL: every success and error case, and for every
//! error, proof that nothing was written.

mod common;

use common::Customers as _;
use common::spawn_app;
use reqwest::{header, StatusCode};
use serde_json::{json, Value};

async fn problem(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let body: Value = response.json().await.expect("error bodies are JSON");
    assert!(
        body["error"].is_string() && body["message"].is_string() && body["details"].is_object(),
        "{body}"
    );
    (status, body)
}

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
async fn unknown_or_malformed_ids_are_404() {
    let app = spawn_app().await;
    for id in ["0193a1b2-0000-7000-8000-000000000000", "not-a-uuid"] {
        let url = app.url(&format!("/api/v1/customers/{id}"));
        let (status, body) = problem(app.client.get(&url).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert_eq!(body["error"], "not_found");
        let put = app
            .client
            .put(&url)
            .json(&json!({"name": "A", "email": "a@b.io"}))
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            app.client.delete(&url).send().await.unwrap().status(),
            StatusCode::NOT_FOUND
        );
    }
    assert_eq!(app.written().await, (0, 0));
}

#[tokio::test]
async fn listing_is_newest_first_pages_by_cursor_or_offset_and_hides_deleted() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            app.create(&format!("Customer {i}")).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let deleted = ids.remove(2);
    let response = app
        .client
        .delete(app.url(&format!("/api/v1/customers/{deleted}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();

    let mut seen = Vec::new();
    let mut url = app.url("/api/v1/customers?limit=2");
    loop {
        let page: Value = app
            .client
            .get(&url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|c| c["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(cursor) => url = app.url(&format!("/api/v1/customers?limit=2&cursor={cursor}")),
            None => break,
        }
    }
    assert_eq!(seen, newest_first);

    let page: Value = app
        .client
        .get(app.url("/api/v1/customers?offset=1&limit=2"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let by_offset: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(by_offset, newest_first[1..3]);
}

#[tokio::test]
async fn listing_rejects_bad_query_parameters_with_400_naming_them() {
    let app = spawn_app().await;
    for (query, field) in [
        ("limit=101", "limit"),
        ("limit=0", "limit"),
        ("limit=x", "limit"),
        ("offset=-1", "offset"),
        ("cursor=zzz", "cursor"),
        ("color=red", "color"),
    ] {
        let response = app
            .client
            .get(app.url(&format!("/api/v1/customers?{query}")))
            .send()
            .await
            .unwrap();
        let (status, body) = problem(response).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(body["details"][field].is_string(), "{query}: {body}");
    }
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
async fn stale_if_match_is_412_and_writes_nothing() {
    let app = spawn_app().await;
    let created = app.create("Edsger Dijkstra").await;
    let url = app.url(&format!(
        "/api/v1/customers/{}",
        created["id"].as_str().unwrap()
    ));
    let before = app.written().await;
    let attempts = [
        app.client
            .put(&url)
            .header(header::IF_MATCH, "\"7\"")
            .json(&json!({"name": "X", "email": "x@y.io"})),
        app.client
            .patch(&url)
            .header(header::IF_MATCH, "\"7\"")
            .json(&json!({"name": "X"})),
        app.client.delete(&url).header(header::IF_MATCH, "\"7\""),
    ];
    for attempt in attempts {
        let (status, body) = problem(attempt.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{body}");
        assert_eq!(body["error"], "precondition_failed");
    }
    assert_eq!(app.written().await, before);
    let current: Value = app
        .client
        .get(&url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(current, created);
}

#[tokio::test]
async fn delete_is_204_then_404_and_the_customer_is_gone() {
    let app = spawn_app().await;
    let created = app.create("Barbara Liskov").await;
    let url = app.url(&format!(
        "/api/v1/customers/{}",
        created["id"].as_str().unwrap()
    ));
    assert_eq!(
        app.client
            .delete(&url)
            .header(header::IF_MATCH, "\"1\"")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.client.delete(&url).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.client.get(&url).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let patch = app
        .client
        .patch(&url)
        .json(&json!({"name": "Back"}))
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status(), StatusCode::NOT_FOUND);
    // create + delete: two events, the row kept as a soft delete
    assert_eq!(app.written().await, (1, 2));
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
async fn malformed_json_is_400_and_writes_nothing() {
    let app = spawn_app().await;
    for body in ["{\"name\": ", "not json", ""] {
        let response = app
            .client
            .post(app.url("/api/v1/customers"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let (status, problem) = problem(response).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body:?}: {problem}");
        assert_eq!(problem["error"], "malformed_json");
    }
    assert_eq!(app.written().await, (0, 0));
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

#[tokio::test]
async fn oversize_body_is_413_and_wrong_content_type_is_415() {
    let app = spawn_app().await;
    let huge = json!({"name": "x".repeat(100 * 1024), "email": "a@b.io"});
    let (status, body) = problem(app.post_customer(&huge).await).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    let response = app
        .client
        .post(app.url("/api/v1/customers"))
        .header(header::CONTENT_TYPE, "text/plain")
        .body(r#"{"name": "A", "email": "a@b.io"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(response).await.0,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    assert_eq!(app.written().await, (0, 0));
}

#[tokio::test]
async fn openapi_document_and_swagger_ui_are_served() {
    let app = spawn_app().await;
    let doc: Value = app
        .client
        .get(app.url("/api/v1/customers/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in ["/api/v1/customers", "/api/v1/customers/{id}"] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    let ui = app
        .client
        .get(app.url("/api/v1/customers/docs/"))
        .send()
        .await
        .unwrap();
    assert_eq!(ui.status(), StatusCode::OK);
    assert!(
        ui.text().await.unwrap().contains("swagger"),
        "Swagger UI page"
    );
}

#[tokio::test]
async fn health_and_metrics_endpoints_answer() {
    let app = spawn_app().await;
    let live: Value = app
        .client
        .get(app.url("/health/live"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(live["status"], "UP");
    let ready = app
        .client
        .get(app.url("/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    app.create("Metered").await;
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("customer_api_writes_total"), "{metrics}");
}

#[tokio::test]
async fn responses_carry_a_request_id() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/api/v1/customers"))
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("x-request-id"));
}
