//! Topic order = commit order also when publishing fails part-way, with several batches in
//! the producer: a failure stops everything after it, so a later version of an aggregate never
//! reaches the topic before an earlier one. And a drain that runs for minutes still refreshes
//! the backlog gauges and prunes.

mod common;

in_both_capture_modes!(a_broker_stalled_mid_pipeline_leaves_no_gap_and_no_reordering);

use common::{assert_complete_and_ordered, keys, read_all, Capture, World, WAIT};
use test_support::broker::Broker;

/// A topic name Kafka refuses to create: the batch holding its event can never be sent.
const UNCREATABLE_TOPIC: &str = "no such topic!";

#[tokio::test]
async fn a_batch_that_cannot_be_sent_holds_back_every_later_batch() {
    let world = World::new("held", Capture::Poll).await;
    let key = keys(1);
    let ids = world.write(&key, 1..=12).await;
    // Version 1's topic cannot be created, so its batch fails before reaching the broker;
    // versions 2..=12 are in the batches behind it, topic and all ready to go.
    test_support::execute(
        &world.db,
        &format!(
            "UPDATE outbox SET topic = '{UNCREATABLE_TOPIC}' WHERE id = (SELECT min(id) FROM outbox)"
        ),
    )
    .await;
    let relay = world
        .relay(&[
            ("RELAY_BATCH_SIZE", "1".into()),
            ("RELAY_PIPELINE_DEPTH", "4".into()),
        ])
        .await;
    relay
        .wait_for_metric("relay_publish_failures_total", 3.0, WAIT)
        .await;
    assert_eq!(
        world.unpublished().await,
        12,
        "nothing after the failed batch was published (versions 2..=12 wait for version 1)"
    );

    // Once version 1 can be sent, everything follows in order.
    test_support::execute(
        &world.db,
        &format!("UPDATE outbox SET topic = 'widgets' WHERE topic = '{UNCREATABLE_TOPIC}'"),
    )
    .await;
    let records = read_all(&world, &ids).await;
    assert_complete_and_ordered(&records, &key, 12);
}

async fn a_broker_stalled_mid_pipeline_leaves_no_gap_and_no_reordering(capture: Capture) {
    let env = test_support::TestEnv::get();
    let broker = Broker::start(&env).await;
    let world = World::new("stall", capture)
        .await
        .on_broker(broker.bootstrap());
    let keys = keys(5);
    let relay = world
        .relay(&[
            ("RELAY_BATCH_SIZE", "10".into()),
            ("RELAY_PIPELINE_DEPTH", "4".into()),
            ("RELAY_DELIVERY_TIMEOUT_MS", "1500".into()),
        ])
        .await;
    let mut ids = world.write(&keys, 1..=20).await;
    relay
        .wait_for_metric("relay_published_total", 40.0, WAIT)
        .await;

    // Frozen longer than the delivery timeout while the relay keeps batches in flight: the
    // sends time out, the relay backs off and starts over from the oldest unpublished event.
    broker.freeze();
    ids.extend(world.write(&keys, 21..=40).await);
    relay
        .wait_for_metric("relay_publish_failures_total", 1.0, WAIT)
        .await;
    broker.unfreeze();
    ids.extend(world.write(&keys, 41..=60).await);

    let records = read_all(&world, &ids).await;
    assert_complete_and_ordered(&records, &keys, 60);
    test_support::eventually("the outbox to be fully marked published", WAIT, || async {
        (world.unpublished().await == 0).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_long_drain_refreshes_the_backlog_gauge_and_prunes_as_it_goes() {
    let world = World::new("long-drain", Capture::Poll).await;
    let backlog = 2_000;
    world.write(&keys(4), 1..=backlog / 4).await;
    // Ten events a batch, one batch at a time, each lingering 50 ms: a drain of about 10 s.
    let relay = world
        .relay(&[
            ("RELAY_BATCH_SIZE", "10".into()),
            ("RELAY_PIPELINE_DEPTH", "1".into()),
            ("RELAY_LINGER_MS", "50".into()),
            ("OUTBOX_RETENTION_SECS", "0".into()),
            ("OUTBOX_PRUNE_INTERVAL_SECS", "1".into()),
        ])
        .await;
    test_support::eventually(
        "the gauge to move and published rows to be pruned while the drain still runs",
        WAIT,
        || async {
            let gauge = relay.metric("relay_backlog_rows").await;
            let rows = test_support::count(&world.db, "SELECT count(*) AS n FROM outbox").await;
            // Still inside the first drain: rows left to publish, and no second pass begun.
            let draining =
                world.unpublished().await > 0 && relay.metric("relay_drains_total").await == 1.0;
            (draining && gauge > 0.0 && gauge < backlog as f64 && rows < backlog).then_some(())
        },
    )
    .await;
}
