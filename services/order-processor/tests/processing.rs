//! order-processor against a real broker and PostgreSQL: orders in, one priced execution and
//! one outbox event each out, under redelivery, replays, poison messages and a database outage.

mod common;

use common::{order_totals, Order, World, WAIT};
use events::Op;
use order_processor::pricing::{ExecutionPricer, UnitPrice};
use serde_json::{json, Value};
use std::time::Duration;
use test_support::{process::RunningService, topic};
use uuid::Uuid;

/// Parses "1.2345" / "12.35" into an integer count of 1/10^scale.
fn scaled(decimal: &str, scale: u32) -> i64 {
    let (whole, fraction) = decimal.split_once('.').unwrap_or((decimal, ""));
    assert!(
        fraction.len() as u32 <= scale,
        "{decimal} has more than {scale} decimals"
    );
    let fraction = format!("{fraction:0<width$}", width = scale as usize);
    whole.parse::<i64>().unwrap() * 10_i64.pow(scale) + fraction.parse::<i64>().unwrap()
}

#[tokio::test]
async fn a_new_order_is_priced_within_bounds_and_its_execution_event_is_in_the_same_transaction() {
    let world = World::new("price-one").await;
    let customer = Uuid::now_v7();
    let order = Order::new("AAPL", 7).for_customer(customer);
    let anonymous = Order::new("7203", 3);
    world.produce(&[order.created(), anonymous.created()]).await;
    let _processor = world.processor("processor").await;

    let rows = world.wait_for_executions(2).await;
    let row = rows
        .iter()
        .find(|r| r.order_id == order.id.to_string())
        .unwrap();
    assert_eq!((row.symbol.as_str(), row.quantity), ("AAPL", 7));
    assert_eq!(row.customer_id, Some(customer.to_string()));
    let unit = scaled(&row.unit_price, 4);
    assert!(
        (11_000..=20_000).contains(&unit),
        "unit price {}",
        row.unit_price
    );
    assert_eq!(row.unit_price.split('.').nth(1).unwrap().len(), 4);
    let expected = ExecutionPricer::price(order.id, 7);
    assert_eq!(
        unit,
        expected.unit_price.ten_thousandths(),
        "priced from the order id"
    );
    // quantity × unit price, rounded half up to the cent
    assert_eq!(scaled(&row.execution_price, 2), (7 * unit + 50) / 100);
    assert_eq!(
        scaled(&row.execution_price, 2),
        expected.execution_price.get()
    );

    let outbox = world.outbox().await;
    assert_eq!(outbox.len(), 2, "one event per execution");
    let (topic, event) = outbox
        .iter()
        .find(|(_, e)| e.after.as_ref().unwrap()["order_id"] == json!(order.id))
        .unwrap();
    assert_eq!(topic, "order-executions");
    assert_eq!(event.event_type, "order-execution.created");
    assert_eq!(event.op, Op::Create);
    assert_eq!(event.aggregate_type, "order-execution");
    assert_eq!(event.version, 1);
    assert_eq!(event.before, None);
    assert_eq!(event.source.service, "order-processor");
    assert_eq!(event.source.table, "order_executions");
    let after = event.after.as_ref().unwrap();
    assert_eq!(after["id"], json!(event.aggregate_id));
    assert_eq!(after["symbol"], "AAPL");
    assert_eq!(after["quantity"], 7);
    assert_eq!(
        after["customer_id"],
        json!(customer),
        "the customer travels with the execution"
    );
    assert_eq!(scaled(&after["unit_price"].to_string(), 4), unit);
    assert_eq!(
        scaled(&after["execution_price"].to_string(), 2),
        scaled(&row.execution_price, 2)
    );
    assert!(after["priced_at"].is_string());
    let (_, other) = outbox.iter().find(|(_, e)| e.id != event.id).unwrap();
    assert_eq!(other.after.as_ref().unwrap()["customer_id"], Value::Null);
}

#[tokio::test]
async fn redelivered_orders_and_snapshot_reads_create_no_second_execution_or_outbox_event() {
    let world = World::new("price-redeliver").await;
    let orders: Vec<Order> = (1..=3).map(|i| Order::new("DUP", i)).collect();
    let created: Vec<_> = orders.iter().map(Order::created).collect();
    world.produce(&created).await;
    // The same message again (a producer retry) and the same order in a new event (a snapshot).
    world
        .produce(&[created[0].clone(), orders[1].event(Op::Read)])
        .await;

    let mut first = world.processor("first").await;
    first
        .wait_for_metric("order_processor_ignored_total", 1.0, WAIT)
        .await;
    first
        .wait_for_metric("order_processor_duplicates_total", 1.0, WAIT)
        .await;
    assert_eq!(first.metric("order_processor_priced_total").await, 3.0);
    let priced = world.executions().await;
    assert_eq!(priced.len(), 3);
    assert_eq!(world.outbox().await.len(), 3, "no second outbox event");
    let status = first.process.terminate(Duration::from_secs(20)).await;
    assert!(status.success(), "SIGTERM exits cleanly: {status:?}");

    // A new group replays the whole topic against the same table: all five are no-ops.
    let second = world.processor("second").await;
    second
        .wait_for_metric("order_processor_duplicates_total", 4.0, WAIT)
        .await;
    second
        .wait_for_metric("order_processor_ignored_total", 1.0, WAIT)
        .await;
    assert_eq!(second.metric("order_processor_priced_total").await, 0.0);
    assert_eq!(
        world.executions().await,
        priced,
        "nothing changed, prices included"
    );
    assert_eq!(world.outbox().await.len(), 3);
}

#[tokio::test]
async fn reprocessing_from_scratch_yields_the_same_prices() {
    let world = World::new("price-again").await;
    let orders: Vec<Order> = (1..=10).map(|i| Order::new("SAME", i * 997)).collect();
    world
        .produce(&orders.iter().map(Order::created).collect::<Vec<_>>())
        .await;
    let elsewhere = world.env.fresh_database().await;
    let _a = world.processor("a").await;
    let _b = world.processor_on(&elsewhere, "b", &[]).await;
    let mut here = world.wait_for_executions(10).await;
    let mut there = World::wait_for_executions_in(&elsewhere, 10).await;
    here.sort_by(|x, y| x.order_id.cmp(&y.order_id));
    there.sort_by(|x, y| x.order_id.cmp(&y.order_id));
    assert_eq!(here, there, "two independent runs price every order alike");
    let distinct: std::collections::HashSet<_> = here.iter().map(|r| &r.unit_price).collect();
    assert!(
        distinct.len() > 1,
        "different orders get different prices: {here:?}"
    );
    for row in &here {
        let unit = UnitPrice::from_ten_thousandths(scaled(&row.unit_price, 4));
        assert!(
            (UnitPrice::LOWEST..=UnitPrice::HIGHEST).contains(&unit),
            "{row:?}"
        );
    }
}

#[tokio::test]
async fn metrics_orders_equals_a_direct_sql_aggregate() {
    let world = World::new("price-totals").await;
    let processor = world.processor("processor").await;
    assert_eq!(
        order_totals(&processor).await,
        json!({"total_orders_processed": 0, "average_execution_price": null}),
        "no orders yet: a count of 0 and no average"
    );
    let orders: Vec<Order> = [1, 2, 3, 10, 99, 1000, 10_000]
        .iter()
        .map(|q| Order::new("SUM", *q))
        .collect();
    world
        .produce(&orders.iter().map(Order::created).collect::<Vec<_>>())
        .await;
    world.wait_for_executions(orders.len()).await;

    let totals = order_totals(&processor).await;
    let count = test_support::count(&world.db, "SELECT count(*) AS n FROM order_executions").await;
    // The exact mean in tenths of a cent, straight from the table.
    let mean_mills = test_support::count(
        &world.db,
        "SELECT round(avg(execution_price) * 1000)::bigint AS n FROM order_executions",
    )
    .await;
    assert_eq!(totals["total_orders_processed"], json!(count));
    assert_eq!(count, 7);
    let average = totals["average_execution_price"].as_f64().unwrap();
    assert!(
        (average * 1000.0 - mean_mills as f64).abs() <= 5.0,
        "{average} vs the SQL mean {mean_mills}/1000"
    );
    let text = totals["average_execution_price"].to_string();
    assert!(
        text.split('.').nth(1).is_none_or(|d| d.len() <= 2),
        "rounded to the cent: {text}"
    );
}

#[tokio::test]
async fn an_undecodable_message_is_dead_lettered_and_the_next_order_is_still_priced() {
    let world = World::new("price-poison").await;
    world.produce_raw("poison-key", b"{not json").await;
    let mut customer_event = Order::new("CUST", 1).created();
    customer_event.aggregate_type = "customer".into();
    world.produce(&[customer_event]).await;
    let fine = Order::new("FINE", 2);
    world.produce(&[fine.created()]).await;
    let processor = world.processor("processor").await;

    let dead = topic::read_raw(
        &world.env.bootstrap,
        &format!("{}.dlq", world.orders_topic()),
        2,
        WAIT,
    )
    .await;
    assert_eq!(dead[0].payload, b"{not json");
    assert_eq!(dead[0].key.as_deref(), Some("poison-key"));
    assert!(dead[0]
        .header("dlq.error")
        .contains("not a JSON change event"));
    assert_eq!(dead[0].header("dlq.consumer"), "order-processor");
    assert_eq!(dead[0].header("dlq.topic"), world.orders_topic());
    assert!(dead[1].header("dlq.error").contains("not an order event"));

    let rows = world.wait_for_executions(1).await;
    assert_eq!(rows[0].order_id, fine.id.to_string());
    processor
        .wait_for_metric(
            "consumer_dead_lettered_total{consumer=\"order-processor\"}",
            2.0,
            WAIT,
        )
        .await;
}

#[tokio::test]
async fn while_its_database_is_unreachable_the_order_is_retried_not_skipped() {
    let world = World::new("price-db-down").await;
    let processor = world
        .processor_on(
            &world.db,
            "processor",
            &[
                ("ORDER_PROCESSOR_RETRY_BASE_MS", "100".to_owned()),
                ("ORDER_PROCESSOR_RETRY_MAX_MS", "500".to_owned()),
            ],
        )
        .await;
    let (admin, name) = (&world.env.admin_url, world.db.rsplit('/').next().unwrap());
    test_support::execute(
        admin,
        &format!(
            "ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false; \
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        ),
    )
    .await;
    let order = Order::new("OFFLN", 4);
    world.produce(&[order.created()]).await;
    processor
        .wait_for_metric(
            "consumer_retries_total{consumer=\"order-processor\"}",
            3.0,
            WAIT,
        )
        .await;
    let ready = reqwest::get(format!("{}/health/ready", processor.http))
        .await
        .unwrap();
    assert_eq!(ready.status(), 503, "not ready without its database");

    test_support::execute(
        admin,
        &format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true"),
    )
    .await;
    let rows = world.wait_for_executions(1).await;
    assert_eq!(rows[0].order_id, order.id.to_string());
    assert_eq!(processor.metric("order_processor_priced_total").await, 1.0);
    assert_eq!(world.outbox().await.len(), 1);
}

#[tokio::test]
async fn execution_events_reach_the_order_executions_topic_through_the_relay() {
    let world = World::new("price-relay").await;
    let customer = Uuid::now_v7();
    let order = Order::new("RELAY", 5).for_customer(customer);
    world.produce(&[order.created()]).await;
    let _processor = world.processor("processor").await;
    // Compares the topic with the outbox afterwards: the polling relay keeps published rows.
    let polling = [("RELAY_CAPTURE", "poll".to_owned())];
    let _relay =
        RunningService::relay(&world.db, &world.env.bootstrap, &world.prefix, &polling).await;

    let records = topic::read_until(
        &world.env.bootstrap,
        &format!("{}order-executions", world.prefix),
        WAIT,
        |records| !records.is_empty(),
    )
    .await;
    let event = &records[0].event;
    assert_eq!(
        records[0].key, event.aggregate_id,
        "keyed by the execution id"
    );
    assert_eq!(event.event_type, "order-execution.created");
    let after = event.after.as_ref().unwrap();
    assert_eq!(after["order_id"], json!(order.id));
    assert_eq!(after["customer_id"], json!(customer));
    assert_eq!(
        world.outbox().await[0].1,
        *event,
        "Kafka carries what the outbox recorded"
    );
}
