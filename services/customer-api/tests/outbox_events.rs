//! The transactional outbox as the customer API uses it: one self-contained event per committed
//! change, atomic with the change, and on Kafka in commit order once the relay runs.

mod common;

use common::Customers as _;
use common::{spawn_app, TestApp, CUSTOMERS};
use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;
use test_support::{conformance, process::RunningService, topic};

const KAFKA_WAIT: Duration = Duration::from_secs(60);

fn customer_url(app: &TestApp, id: &str) -> String {
    app.url(&format!("/api/v1/customers/{id}"))
}

#[tokio::test]
async fn a_write_that_fails_after_the_row_insert_leaves_neither_row_nor_event() {
    let app = spawn_app().await;
    let survivor = app.create("Before The Fault").await;
    // Make the outbox insert fail: the customer row is already inserted in the same transaction.
    test_support::execute(
        &app.database_url,
        "CREATE FUNCTION refuse_outbox() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN RAISE EXCEPTION 'injected outbox failure'; END $$; \
         CREATE TRIGGER refuse_outbox BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION refuse_outbox();",
    )
    .await;
    let before = app.written().await;

    let response = app
        .post_customer(&json!({"name": "Doomed", "email": "doomed@example.com"}))
        .await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = response.json().await.unwrap();
    assert!(
        !body["message"].as_str().unwrap().contains("injected"),
        "internal causes stay in the log"
    );
    let url = customer_url(&app, survivor["id"].as_str().unwrap());
    let update = app
        .client
        .patch(&url)
        .json(&json!({"name": "Changed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(update.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let delete = app.client.delete(&url).send().await.unwrap();
    assert_eq!(delete.status(), StatusCode::INTERNAL_SERVER_ERROR);

    assert_eq!(
        app.written().await,
        before,
        "no customer row and no outbox row"
    );
    let unchanged: Value = app
        .client
        .get(&url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        unchanged, survivor,
        "the failed update and delete were rolled back"
    );
}

/// A relay of the app's outbox capturing by `capture` (`poll` or `wal`), leading already.
async fn relay(app: &TestApp, prefix: &str, capture: &str) -> RunningService {
    let capture = [("RELAY_CAPTURE", capture.to_owned())];
    let relay =
        RunningService::relay(&app.database_url, &app.env.bootstrap, prefix, &capture).await;
    relay.wait_until_leader().await;
    relay
}

#[tokio::test]
async fn create_update_update_delete_reach_kafka_as_four_ordered_events_polling() {
    create_update_update_delete_reach_kafka_as_four_ordered_events("poll").await
}

#[tokio::test]
async fn create_update_update_delete_reach_kafka_as_four_ordered_events_from_the_wal() {
    create_update_update_delete_reach_kafka_as_four_ordered_events("wal").await
}

async fn create_update_update_delete_reach_kafka_as_four_ordered_events(capture: &str) {
    let app = spawn_app().await;
    let prefix = test_support::unique("lifecycle") + ".";
    let relay = relay(&app, &prefix, capture).await;
    let (id, expected) = conformance::lifecycle(&app, &CUSTOMERS).await;
    // From the log, the relay deletes what it published: read the outbox while it is there.
    let recorded = app.outbox_events(&id).await;
    let events = topic::events_for(
        &app.env.bootstrap,
        &format!("{prefix}customers"),
        &id,
        4,
        KAFKA_WAIT,
    )
    .await;
    conformance::assert_recorded(&events, &CUSTOMERS, &id, &expected);
    if capture == "poll" {
        assert_eq!(
            events, recorded,
            "Kafka carries exactly what the outbox recorded"
        );
    }
    drop(relay);
}

#[tokio::test]
async fn fifty_concurrent_updates_of_one_customer_arrive_in_version_order_polling() {
    fifty_concurrent_updates_of_one_customer_arrive_in_version_order("poll").await
}

#[tokio::test]
async fn fifty_concurrent_updates_of_one_customer_arrive_in_version_order_from_the_wal() {
    fifty_concurrent_updates_of_one_customer_arrive_in_version_order("wal").await
}

async fn fifty_concurrent_updates_of_one_customer_arrive_in_version_order(capture: &str) {
    let app = spawn_app().await;
    let prefix = test_support::unique("concurrent") + ".";
    let _relay = relay(&app, &prefix, capture).await;
    let id = app.create("Contended").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = customer_url(&app, &id);
    let responses = join_all((0..50).map(|i| {
        let request = app
            .client
            .patch(&url)
            .json(&json!({"name": format!("Writer {i}")}));
        async move { request.send().await.unwrap().status() }
    }))
    .await;
    assert!(
        responses.iter().all(|s| *s == StatusCode::OK),
        "{responses:?}"
    );

    let events = topic::events_for(
        &app.env.bootstrap,
        &format!("{prefix}customers"),
        &id,
        51,
        KAFKA_WAIT,
    )
    .await;
    let versions: Vec<i64> = events.iter().map(|e| e.version).collect();
    assert_eq!(
        versions,
        (1..=51).collect::<Vec<_>>(),
        "topic order is version (commit) order"
    );
    // Each event's before image is the previous event's after image: no interleaving.
    for pair in events.windows(2) {
        assert_eq!(
            pair[1].before, pair[0].after,
            "v{} follows v{}",
            pair[1].version, pair[0].version
        );
    }
}
