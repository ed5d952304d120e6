//! The broker goes away while customers keep writing: the API stays at 2xx (it only needs
//! PostgreSQL), the relay backs off, and every event arrives, in order, once the broker is back.

mod common;

use common::spawn_app;
use common::Customers as _;
use futures::future::join_all;
use serde_json::json;
use std::time::Duration;
use test_support::{broker::Broker, process::RunningService, topic};

const WAIT: Duration = Duration::from_secs(120);

#[tokio::test]
async fn writes_continue_while_the_broker_is_down_and_all_events_arrive_after() {
    let app = spawn_app().await;
    let mut broker = Broker::start(&app.env).await;
    let prefix = test_support::unique("outage") + ".";
    let topic_name = format!("{prefix}customers");
    let relay = RunningService::relay(
        &app.database_url,
        &broker.bootstrap(),
        &prefix,
        &[("RELAY_DELIVERY_TIMEOUT_MS", "2000".into())],
    )
    .await;

    let before_outage = app.create("Before Outage").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    topic::events_for(&broker.bootstrap(), &topic_name, &before_outage, 1, WAIT).await;

    broker.stop().await;
    let mut ids = Vec::new();
    for i in 0..10 {
        let customer = app.create(&format!("During Outage {i}")).await;
        ids.push(customer["id"].as_str().unwrap().to_owned());
    }
    let statuses = join_all(ids.iter().map(|id| {
        let request = app
            .client
            .patch(app.url(&format!("/api/v1/customers/{id}")))
            .json(&json!({"name": "Renamed"}));
        async move { request.send().await.unwrap().status().as_u16() }
    }))
    .await;
    assert!(
        statuses.iter().all(|s| *s == 200),
        "the API keeps answering 2xx: {statuses:?}"
    );
    test_support::eventually("the relay to report a backlog", WAIT, || async {
        (relay.metric("relay_backlog_rows").await >= 1.0).then_some(())
    })
    .await;

    broker.resume().await;
    let records = topic::read_until(&broker.bootstrap(), &topic_name, WAIT, |records| {
        ids.iter()
            .all(|id| records.iter().any(|r| &r.key == id && r.event.version == 2))
    })
    .await;
    for id in &ids {
        let mut versions: Vec<i64> = records
            .iter()
            .filter(|r| &r.key == id)
            .map(|r| r.event.version)
            .collect();
        versions.dedup(); // at-least-once: a batch cut by the outage may be sent twice
        assert_eq!(versions, [1, 2], "customer {id}");
    }
    test_support::eventually("the backlog to drain", WAIT, || async {
        (test_support::count(
            &app.database_url,
            "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL",
        )
        .await
            == 0)
            .then_some(())
    })
    .await;
}
