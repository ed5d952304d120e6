//! The relay against real PostgreSQL and a real Kafka-protocol broker, under the faults it
//! promises to survive: SIGKILL mid-stream, a leader dying with a standby waiting, SIGTERM; and
//! the ordering it promises with several batches in flight.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use events::{ChangeEvent, Op};
use outbox::Change;
use serde_json::json;
use std::{collections::HashMap, time::Duration};
use test_support::{process::RunningService, topic, TestEnv};
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(90);

struct World {
    env: TestEnv,
    db: String,
    prefix: String,
}

impl World {
    async fn new(name: &str) -> Self {
        let env = TestEnv::get();
        let db = env.fresh_database().await;
        runtime::db::migrate(&db, &[outbox::MIGRATIONS])
            .await
            .expect("migrating the outbox");
        Self {
            env,
            db,
            prefix: test_support::unique(name) + ".",
        }
    }

    fn topic(&self) -> String {
        format!("{}widgets", self.prefix)
    }

    async fn relay(&self, extra: &[(&str, String)]) -> RunningService {
        RunningService::relay(&self.db, &self.env.bootstrap, &self.prefix, extra).await
    }

    /// Commits `count` versions of each key, one transaction per event; returns the event ids.
    async fn write(&self, keys: &[String], versions: std::ops::RangeInclusive<i64>) -> Vec<Uuid> {
        let mut conn = AsyncPgConnection::establish(&self.db).await.unwrap();
        let mut ids = Vec::new();
        for version in versions {
            for key in keys {
                let event = conn
                    .transaction(async |conn| {
                        outbox::record(conn, widget_change(key, version)).await
                    })
                    .await
                    .expect("recording an event");
                ids.push(event.id);
            }
        }
        ids
    }

    async fn unpublished(&self) -> i64 {
        test_support::count(
            &self.db,
            "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL",
        )
        .await
    }
}

fn widget_change(key: &str, version: i64) -> Change {
    Change {
        service: "widget-test",
        table: "widgets",
        topic: "widgets",
        aggregate_type: "widget",
        aggregate_id: key.to_owned(),
        op: if version == 1 { Op::Create } else { Op::Update },
        version,
        before: (version > 1).then(|| json!({"id": key, "version": version - 1})),
        after: Some(json!({"id": key, "version": version})),
    }
}

fn keys(n: usize) -> Vec<String> {
    (0..n).map(|_| Uuid::new_v4().to_string()).collect()
}

/// Reads the topic until every id in `ids` has arrived; returns the records in topic order.
async fn read_all(world: &World, ids: &[Uuid]) -> Vec<topic::Record> {
    topic::read_until(&world.env.bootstrap, &world.topic(), WAIT, |records| {
        let seen: std::collections::HashSet<Uuid> = records.iter().map(|r| r.event.id).collect();
        ids.iter().all(|id| seen.contains(id))
    })
    .await
}

/// What a version-guarded consumer applies: per key, each event newer than the last applied.
/// Redeliveries (at-least-once) are skipped; a gap or a reordering would show as a missing or
/// out-of-order version.
fn applied_versions(records: &[topic::Record]) -> HashMap<String, Vec<i64>> {
    let mut applied: HashMap<String, Vec<i64>> = HashMap::new();
    for record in records {
        let versions = applied.entry(record.key.clone()).or_default();
        if versions
            .last()
            .is_none_or(|last| record.event.version > *last)
        {
            versions.push(record.event.version);
        }
    }
    applied
}

fn assert_complete_and_ordered(records: &[topic::Record], keys: &[String], last_version: i64) {
    let applied = applied_versions(records);
    for key in keys {
        assert_eq!(
            applied[key],
            (1..=last_version).collect::<Vec<_>>(),
            "key {key}"
        );
    }
    for record in records {
        assert_eq!(
            record.key, record.event.aggregate_id,
            "the Kafka key is the aggregate id"
        );
    }
}

#[tokio::test]
async fn relay_survives_sigkill_mid_stream_without_losing_events() {
    let world = World::new("kill").await;
    let keys = keys(4);
    let mut first = world.relay(&[("RELAY_BATCH_SIZE", "20".into())]).await;

    let writer = {
        let (db, keys) = (world.db.clone(), keys.clone());
        let w = World {
            env: world.env.clone(),
            db,
            prefix: world.prefix.clone(),
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

#[tokio::test]
async fn a_backlog_deeper_than_the_pipeline_is_published_whole_and_in_commit_order() {
    let world = World::new("pipeline").await;
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
    let world = World::new("wakeups").await;
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

#[tokio::test]
async fn hot_standby_takes_over_when_the_leader_dies() {
    let world = World::new("standby").await;
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
    let world = World::new("prune").await;
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

#[tokio::test]
async fn sigterm_stops_the_relay_cleanly_after_its_batch() {
    let world = World::new("sigterm").await;
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
    let world = World::new("envelope").await;
    let _relay = world.relay(&[]).await;
    let key = keys(1);
    let ids = world.write(&key, 1..=2).await;
    let records = read_all(&world, &ids).await;
    let events: Vec<&ChangeEvent> = records.iter().map(|r| &r.event).collect();
    assert_eq!(events[0].event_type, "widget.created");
    assert_eq!(events[1].event_type, "widget.updated");
    assert_eq!(events[1].before, Some(json!({"id": key[0], "version": 1})));
}
