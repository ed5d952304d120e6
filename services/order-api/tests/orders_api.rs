//! order-api over HTTP against a real PostgreSQL: every success and error case of the order
//! endpoints, and for every error, proof that nothing was written.

mod common;

use common::Orders as _;
use common::{problem, spawn_app, TestApp};
use events::{ChangeEvent, Op};
use reqwest::{header, StatusCode};
use serde_json::{json, Value};

/// The outbox rows as (topic, event), in outbox order.
async fn outbox_events(app: &TestApp) -> Vec<(String, ChangeEvent)> {
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        topic: String,
        #[diesel(sql_type = diesel::sql_types::Jsonb)]
        payload: Value,
    }
    let mut conn = AsyncPgConnection::establish(&app.database_url)
        .await
        .unwrap();
    let rows: Vec<Row> = diesel::sql_query("SELECT topic, payload FROM outbox ORDER BY id")
        .load(&mut conn)
        .await
        .unwrap();
    rows.into_iter()
        .map(|r| (r.topic, serde_json::from_value(r.payload).unwrap()))
        .collect()
}

#[tokio::test]
async fn create_returns_201_with_location_and_the_order() {
    let app = spawn_app().await;
    let customer = "0193a1b2-0000-7000-8000-00000000c0de";
    let response = app
        .post_order(&json!({"symbol": "AAPL", "quantity": 10000, "customer_id": customer}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    let id = body["id"].as_str().unwrap();
    assert_eq!(location, format!("/api/v1/orders/{id}"));
    assert_eq!(body["symbol"], "AAPL");
    assert_eq!(body["quantity"], 10000);
    assert_eq!(body["customer_id"], customer);
    assert!(body["created_at"].is_string());
    assert_eq!(app.get_json(&location).await, body);

    let anonymous = app.create("7203", 1).await;
    assert_eq!(
        anonymous["customer_id"],
        Value::Null,
        "customer_id is optional"
    );
    assert_eq!(app.written().await, (2, 2));
}

#[tokio::test]
async fn each_order_records_one_self_contained_order_created_event() {
    let app = spawn_app().await;
    let order = app
        .post_order(&json!({"symbol": "MSFT", "quantity": 3, "customer_id": "0193a1b2-0000-7000-8000-000000000001"}))
        .await
        .json::<Value>()
        .await
        .unwrap();
    let events = outbox_events(&app).await;
    assert_eq!(events.len(), 1);
    let (topic, event) = &events[0];
    assert_eq!(topic, "orders");
    assert_eq!(event.event_type, "order.created");
    assert_eq!(event.op, Op::Create);
    assert_eq!(event.aggregate_type, "order");
    assert_eq!(event.aggregate_id, order["id"].as_str().unwrap());
    assert_eq!(event.version, 1);
    assert_eq!(event.before, None);
    assert_eq!(
        event.after.as_ref(),
        Some(&order),
        "the after image is the order"
    );
    assert_eq!(event.source.service, "order-api");
    assert_eq!(event.source.table, "orders");
    assert!(event.source.tx_id > 0);
}

#[tokio::test]
async fn a_write_that_fails_after_the_row_insert_leaves_neither_row_nor_event() {
    let app = spawn_app().await;
    app.create("IBM", 2).await;
    test_support::execute(
        &app.database_url,
        "CREATE FUNCTION refuse_outbox() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN RAISE EXCEPTION 'injected outbox failure'; END $$; \
         CREATE TRIGGER refuse_outbox BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION refuse_outbox();",
    )
    .await;
    let (status, body) = problem(
        app.post_order(&json!({"symbol": "IBM", "quantity": 1}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert!(
        !body["message"].as_str().unwrap().contains("injected"),
        "internal causes stay in the log"
    );
    assert_eq!(
        app.written().await,
        (1, 1),
        "no order row and no outbox row"
    );
}

#[tokio::test]
async fn invalid_fields_are_422_naming_each_field_and_write_nothing() {
    let app = spawn_app().await;
    let cases = [
        (json!({"symbol": "aapl", "quantity": 1}), vec!["symbol"]),
        (json!({"symbol": "", "quantity": 1}), vec!["symbol"]),
        (
            json!({"symbol": "ABCDEFGHIJKLM", "quantity": 1}),
            vec!["symbol"],
        ),
        (json!({"symbol": "BRK.B", "quantity": 1}), vec!["symbol"]),
        (json!({"symbol": "AAPL", "quantity": 0}), vec!["quantity"]),
        (
            json!({"symbol": "AAPL", "quantity": 10001}),
            vec!["quantity"],
        ),
        (json!({"symbol": "AAPL", "quantity": -3}), vec!["quantity"]),
        (json!({"symbol": "AAPL", "quantity": 1.5}), vec!["quantity"]),
        (json!({"symbol": "AAPL", "quantity": "5"}), vec!["quantity"]),
        (json!({"symbol": "AAPL"}), vec!["quantity"]),
        (json!({"quantity": 1}), vec!["symbol"]),
        (json!({"symbol": 42, "quantity": 1}), vec!["symbol"]),
        (
            json!({"symbol": "AAPL", "quantity": 1, "customer_id": "nope"}),
            vec!["customer_id"],
        ),
        (
            json!({"symbol": "a", "quantity": 0, "customer_id": "x"}),
            vec!["customer_id", "quantity", "symbol"],
        ),
        (
            json!({"symbol": "AAPL", "quantity": 1, "price": 9}),
            vec!["price"],
        ),
    ];
    for (body, fields) in cases {
        let (status, problem) = problem(app.post_order(&body).await).await;
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
    assert_eq!(app.written().await, (0, 0));
}

#[tokio::test]
async fn health_metrics_and_request_ids_answer() {
    let app = spawn_app().await;
    let live = app.get_json("/health/live").await;
    assert_eq!(live["status"], "UP");
    assert_eq!(live["service"], "order-api");
    let ready = app.get_json("/health/ready").await;
    assert_eq!(ready["status"], "UP");
    app.create("METER", 1).await;
    let listing = app
        .client
        .get(app.url("/api/v1/orders"))
        .send()
        .await
        .unwrap();
    assert!(listing.headers().contains_key("x-request-id"));
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    let metrics = response.text().await.unwrap();
    assert!(
        metrics.contains("order_api_orders_created_total{origin=\"api\"}"),
        "{metrics}"
    );
}

#[tokio::test]
async fn generator_endpoints_report_start_retune_stop_and_reject_bad_intervals() {
    let app = spawn_app().await;
    let status = app.get_json("/api/v1/orders/generator").await;
    assert_eq!(
        status,
        json!({"state": "stopped", "interval_ms": 2000, "orders_made": 0, "failed_ticks": 0})
    );

    for (body, field) in [
        (json!({"interval_ms": 9}), "interval_ms"),
        (json!({"interval_ms": 3_600_001}), "interval_ms"),
        (json!({"interval_ms": -1}), "interval_ms"),
        (json!({"interval_ms": "fast"}), "interval_ms"),
        (json!({"interval_ms": 100, "burst": 3}), "burst"),
    ] {
        let response = app
            .client
            .post(app.url("/api/v1/orders/generator/start"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, problem) = problem(response).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {problem}"
        );
        assert!(problem["details"][field].is_string(), "{body}: {problem}");
    }
    let response = app
        .client
        .post(app.url("/api/v1/orders/generator/start"))
        .header(header::CONTENT_TYPE, "application/json")
        .body("{\"interval_ms\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(problem(response).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(
        app.get_json("/api/v1/orders/generator").await["state"],
        "stopped",
        "a rejected start starts nothing"
    );

    // No body: the default interval. An hour-long tick keeps this test free of orders.
    let (code, started) = app.generator("start", None).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(started["state"], "running");
    assert_eq!(started["interval_ms"], 2000);
    let (code, retuned) = app
        .generator("start", Some(json!({"interval_ms": 3_600_000})))
        .await;
    assert_eq!(code, StatusCode::OK, "start while running retunes, not 409");
    assert_eq!(retuned["state"], "running");
    assert_eq!(retuned["interval_ms"], 3_600_000);

    let (code, stopped) = app.generator("stop", None).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(stopped["state"], "stopped");
    assert_eq!(stopped["interval_ms"], 3_600_000);
    let (code, again) = app.generator("stop", None).await;
    assert_eq!(
        (code, again["state"].clone()),
        (StatusCode::OK, json!("stopped"))
    );
    assert_eq!(app.get_json("/api/v1/orders/generator").await, again);
    // Only the generator wrote, if the 2 s default ticked before the retune.
    let made = again["orders_made"].as_i64().unwrap();
    assert_eq!(app.written().await, (made, made));
}
