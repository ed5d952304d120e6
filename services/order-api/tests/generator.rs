//! The order generator end to end: start, stop and start again at the rates asked for, every
//! generated order written with its event like an API order, and every one priced by the
//! order-processor once the relay has published them.

mod common;

use common::spawn_app;
use common::Orders as _;
use serde_json::{json, Value};
use std::{collections::BTreeSet, time::Duration};
use test_support::process::RunningService;
use tokio::time::Instant;

const WAIT: Duration = Duration::from_secs(90);

/// The ids of a database's orders (`sql` selects one text column `id`).
async fn ids(database_url: &str, sql: &str) -> BTreeSet<String> {
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
    }
    let mut conn = AsyncPgConnection::establish(database_url).await.unwrap();
    let rows: Vec<Row> = diesel::sql_query(sql).load(&mut conn).await.unwrap();
    rows.into_iter().map(|r| r.id).collect()
}

/// Runs the generator at `interval_ms` until it has made `more` orders on top of what it had;
/// returns how long that took, measured from just before the start request.
async fn run_until(app: &common::TestApp, interval_ms: u64, more: u64) -> Duration {
    let before = app.get_json("/api/v1/orders/generator").await["orders_made"]
        .as_u64()
        .unwrap();
    let started = Instant::now();
    let (code, status) = app
        .generator("start", Some(json!({"interval_ms": interval_ms})))
        .await;
    assert_eq!(code, 200, "{status}");
    assert_eq!(status["state"], "running");
    assert_eq!(status["interval_ms"], interval_ms);
    let elapsed =
        test_support::eventually(&format!("{more} more generated orders"), WAIT, || async {
            let made = app.get_json("/api/v1/orders/generator").await["orders_made"]
                .as_u64()
                .unwrap();
            (made >= before + more).then(|| started.elapsed())
        })
        .await;
    let (code, stopped) = app.generator("stop", None).await;
    assert_eq!((code.as_u16(), &stopped["state"]), (200, &json!("stopped")));
    elapsed
}

/// `more` ticks at `interval_ms` cannot come sooner than `more` intervals (each tick waits a
/// full interval after the previous one); allow a slow machine four times as long.
fn assert_rate(elapsed: Duration, interval_ms: u64, more: u64) {
    let least = Duration::from_millis(interval_ms * more);
    assert!(
        elapsed >= least.mul_f64(0.95) && elapsed <= least * 4 + Duration::from_secs(1),
        "{more} orders at {interval_ms} ms took {elapsed:?}, expected about {least:?}"
    );
}

#[tokio::test]
async fn generator_start_stop_start_makes_orders_at_the_configured_rate_and_all_get_priced() {
    let app = spawn_app().await;
    let prefix = test_support::unique("generator") + ".";
    let processor_db = app.env.fresh_database().await;
    // Counts the outbox rows afterwards: the polling relay keeps published rows.
    let polling = [("RELAY_CAPTURE", "poll".to_owned())];
    let _relay =
        RunningService::relay(&app.database_url, &app.env.bootstrap, &prefix, &polling).await;
    let processor = RunningService::start(
        "order-processor",
        "ORDER_PROCESSOR_ADDR",
        &[
            ("ORDER_PROCESSOR_DATABASE_URL", processor_db.clone()),
            ("KAFKA_BOOTSTRAP_SERVERS", app.env.bootstrap.clone()),
            ("TOPIC_PREFIX", prefix.clone()),
            ("ORDER_PROCESSOR_GROUP", format!("{prefix}order-processor")),
            ("RUST_LOG", "info,librdkafka=warn,rdkafka=warn".to_owned()),
        ],
    )
    .await;

    let first = run_until(&app, 100, 15).await;
    assert_rate(first, 100, 15);
    let after_first = app.orders_rows().await;
    assert!(after_first >= 15);
    assert_eq!(
        app.get_json("/api/v1/orders/generator").await["orders_made"],
        json!(after_first),
        "stop returns after the order in flight: every counted order is written"
    );
    // Stopped means stopped: five intervals later there is still nothing new.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.orders_rows().await, after_first);

    let second = run_until(&app, 50, 20).await;
    assert_rate(second, 50, 20);
    let status = app.get_json("/api/v1/orders/generator").await;
    assert_eq!(status["state"], "stopped");
    assert_eq!(status["interval_ms"], 50);
    assert_eq!(status["failed_ticks"], 0);
    let made = status["orders_made"].as_i64().unwrap();
    assert!(made >= after_first + 20);
    assert_eq!(
        app.written().await,
        (made, made),
        "one row and one event each"
    );

    // Generated orders are orders like any other: 3 characters of A-Z0-9, 1 to 10 units.
    let page = app.get_json("/api/v1/orders?limit=100").await;
    for order in page["items"].as_array().unwrap() {
        let symbol = order["symbol"].as_str().unwrap();
        assert!(
            symbol.len() == 3
                && symbol
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()),
            "{order}"
        );
        assert!(
            (1..=10).contains(&order["quantity"].as_i64().unwrap()),
            "{order}"
        );
        assert_eq!(order["customer_id"], Value::Null);
    }

    let placed = ids(&app.database_url, "SELECT id::text AS id FROM orders").await;
    let priced = test_support::eventually("every generated order priced", WAIT, || async {
        let priced = ids(
            &processor_db,
            "SELECT order_id::text AS id FROM order_executions",
        )
        .await;
        (priced.len() >= placed.len()).then_some(priced)
    })
    .await;
    assert_eq!(priced, placed, "each order priced exactly once");
    let totals: Value = reqwest::get(format!("{}/metrics/orders", processor.http))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(totals["total_orders_processed"], json!(made));
    assert!(totals["average_execution_price"].as_f64().unwrap() > 0.0);
}
