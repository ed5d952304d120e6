//! The relay against real PostgreSQL and a real Kafka-protocol broker, under the faults it
//! promises to survive: SIGKILL mid-stream, a leader dying with a standby waiting, SIGTERM; and
//! the ordering it promises with several batches in flight.

mod common;

in_both_capture_modes!(
    relay_survives_sigkill_mid_stream_without_losing_events,
    a_backlog_deeper_than_the_pipeline_is_published_whole_and_in_commit_order,
    hot_standby_takes_over_when_the_leader_dies,
    sigterm_stops_the_relay_cleanly_after_its_batch,
);

use common::{assert_complete_and_ordered, keys, read_all, Capture, World, WAIT};
use events::ChangeEvent;
use serde_json::json;
use std::time::Duration;

async fn relay_survives_sigkill_mid_stream_without_losing_events(capture: Capture) {
    let world = World::new("kill", capture).await;
    let keys = keys(4);
    let mut first = world.relay(&[("RELAY_BATCH_SIZE", "20".into())]).await;

    let writer = {
        let (db, keys) = (world.db.clone(), keys.clone());
        let w = World {
            env: world.env.clone(),
            capture,
            db,
            prefix: world.prefix.clone(),
            bootstrap: world.bootstrap.clone(),
        };
        tokio::spawn(async move { w.write(&keys, 1..=100).await })
    };
    test_support::eventually("the first relay to publish", WAIT, || async {
        (first.metric("relay_published_total").await >= 40.0).then_some(())
    })
    .await;
    first.process.kill9().await;
    let second = world.relay(&[("RELAY_BATCH_SIZE", "20".into())]).await;
    let ids = writer.await.unwrap();

    let records = read_all(&world, &ids).await;
    assert_complete_and_ordered(&records, &keys, 100);
    test_support::eventually("the outbox to be fully marked published", WAIT, || async {
        (world.unpublished().await == 0).then_some(())
    })
    .await;
    drop(second);
}

async fn a_backlog_deeper_than_the_pipeline_is_published_whole_and_in_commit_order(
    capture: Capture,
) {
    let world = World::new("pipeline", capture).await;
    let keys = keys(5);
    // Written before the relay starts: 300 events in batches of 7, four batches in flight at a
    // time, while a second writer keeps committing to the same keys.
    let mut ids = world.write(&keys, 1..=60).await;
    let _relay = world
        .relay(&[
            ("RELAY_BATCH_SIZE", "7".into()),
            ("RELAY_PIPELINE_DEPTH", "4".into()),
        ])
        .await;
    ids.extend(world.write(&keys, 61..=80).await);

    let records = read_all(&world, &ids).await;
    assert_complete_and_ordered(&records, &keys, 80);
    test_support::eventually("the outbox to be fully marked published", WAIT, || async {
        (world.unpublished().await == 0).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_burst_of_commits_wakes_the_relay_once_not_once_per_commit() {
    let world = World::new("wakeups", Capture::Poll).await;
    let keys = keys(1);
    let relay = world.relay(&[]).await;
    relay.wait_until_leader().await;
    let mut ids = world.write(&keys, 1..=1).await;
    read_all(&world, &ids).await;

    // Frozen, the relay cannot drain as the commits arrive: all 300 notifications queue up.
    let drains_before = relay.metric("relay_drains_total").await;
    relay.process.pause();
    ids.extend(world.write(&keys, 2..=301).await);
    relay.process.resume();
    read_all(&world, &ids).await;
    // A later commit's notification is handled only after the queued ones, so once it is
    // published every wake-up the burst caused has been counted.
    ids.extend(world.write(&keys, 302..=302).await);
    let records = read_all(&world, &ids).await;
    assert_complete_and_ordered(&records, &keys, 302);
    let drains = relay.metric("relay_drains_total").await - drains_before;
    assert!(
        drains < 20.0,
        "301 commits cost {drains} drain passes; one wake-up should cover the queued burst"
    );
}

async fn hot_standby_takes_over_when_the_leader_dies(capture: Capture) {
    let world = World::new("standby", capture).await;
    let keys = keys(2);
    let mut leader = world.relay(&[]).await;
    leader.wait_until_leader().await;
    let standby = world.relay(&[]).await;
    test_support::eventually("the second relay to wait as standby", WAIT, || async {
        (standby.metric("relay_standby").await == 1.0).then_some(())
    })
    .await;
    assert_eq!(
        standby.metric("relay_leader").await,
        0.0,
        "only one relay publishes"
    );

    let mut ids = world.write(&keys, 1..=10).await;
    read_all(&world, &ids).await;
    assert_eq!(
        standby.metric("relay_published_total").await,
        0.0,
        "the standby published nothing"
    );

    leader.process.kill9().await;
    standby.wait_until_leader().await;
    ids.extend(world.write(&keys, 11..=20).await);
    let records = read_all(&world, &ids).await;
    assert_complete_and_ordered(&records, &keys, 20);
    assert!(standby.metric("relay_published_total").await >= 20.0);
}

#[tokio::test]
async fn published_events_are_pruned_after_the_retention() {
    let world = World::new("prune", Capture::Poll).await;
    let _relay = world
        .relay(&[
            ("OUTBOX_RETENTION_SECS", "1".into()),
            ("OUTBOX_PRUNE_INTERVAL_SECS", "1".into()),
        ])
        .await;
    let ids = world.write(&keys(1), 1..=5).await;
    read_all(&world, &ids).await;
    test_support::eventually("published rows to be pruned", WAIT, || async {
        (test_support::count(&world.db, "SELECT count(*) AS n FROM outbox").await == 0)
            .then_some(())
    })
    .await;
}

async fn sigterm_stops_the_relay_cleanly_after_its_batch(capture: Capture) {
    let world = World::new("sigterm", capture).await;
    let mut relay = world.relay(&[]).await;
    let ids = world.write(&keys(1), 1..=3).await;
    read_all(&world, &ids).await;
    test_support::eventually("events marked published", WAIT, || async {
        (world.unpublished().await == 0).then_some(())
    })
    .await;
    let status = relay.process.terminate(Duration::from_secs(15)).await;
    assert!(
        status.success(),
        "exit status {status}; log:\n{}",
        relay.process.log()
    );
}

#[tokio::test]
async fn events_decode_as_the_envelope_they_were_written_as() {
    let world = World::new("envelope", Capture::Poll).await;
    let _relay = world.relay(&[]).await;
    let key = keys(1);
    let ids = world.write(&key, 1..=2).await;
    let records = read_all(&world, &ids).await;
    let events: Vec<&ChangeEvent> = records.iter().map(|r| &r.event).collect();
    assert_eq!(events[0].event_type, "widget.created");
    assert_eq!(events[1].event_type, "widget.updated");
    assert_eq!(events[1].before, Some(json!({"id": key[0], "version": 1})));
}

#[tokio::test]
async fn readiness_probes_reuse_one_connection_instead_of_opening_one_each() {
    let world = World::new("probes", Capture::Poll).await;
    let relay = world.relay(&[]).await;
    relay.wait_until_leader().await;
    let name = world.db.rsplit('/').next().unwrap().to_owned();
    let query = format!("SELECT sessions AS n FROM pg_stat_database WHERE datname = '{name}'");
    let sessions = || test_support::count(&world.db, &query);
    let before = sessions().await;
    let client = reqwest::Client::new();
    for _ in 0..30 {
        let response = client
            .get(format!("{}/health/ready", relay.http))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    // Each count opens a session of its own, and the probe's one pooled connection may be new.
    let opened = sessions().await - before;
    assert!(opened <= 3, "30 probes opened {opened} sessions");
}
