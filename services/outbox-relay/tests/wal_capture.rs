//! What `RELAY_CAPTURE=wal` promises beyond the guarantees both modes share: the outbox table
//! does not grow, a dropped slot loses nothing, and a quiet outbox does not make its slot pin
//! the write-ahead log that other databases keep writing.

mod common;

use common::{assert_complete_and_ordered, keys, read_all, Capture, World, WAIT};
use std::time::Duration;

async fn slot_count(world: &World) -> i64 {
    test_support::count(
        &world.db,
        "SELECT count(*) AS n FROM pg_replication_slots WHERE database = current_database()",
    )
    .await
}

async fn rows(world: &World) -> i64 {
    test_support::count(&world.db, "SELECT count(*) AS n FROM outbox").await
}

#[tokio::test]
async fn a_slot_dropped_while_the_relay_is_down_loses_nothing_and_the_table_empties() {
    let world = World::new("dropped-slot", Capture::Wal).await;
    let keys = keys(3);
    let mut relay = world.relay(&[]).await;
    relay.wait_until_leader().await;
    let mut ids = world.write(&keys, 1..=10).await;
    read_all(&world, &ids).await;
    test_support::eventually("published rows deleted", WAIT, || async {
        (rows(&world).await == 0).then_some(())
    })
    .await;
    assert_eq!(slot_count(&world).await, 1, "the relay made its slot");

    // Down, with events committed before and after its slot is dropped.
    relay.process.terminate(Duration::from_secs(15)).await;
    ids.extend(world.write(&keys, 11..=20).await);
    test_support::execute(
        &world.db,
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots \
         WHERE database = current_database()",
    )
    .await;
    ids.extend(world.write(&keys, 21..=30).await);

    let _relay = world.relay(&[]).await;
    let records = read_all(&world, &ids).await;
    assert_complete_and_ordered(&records, &keys, 30);
    assert_eq!(slot_count(&world).await, 1, "the slot was made again");
    ids.extend(world.write(&keys, 31..=35).await);
    let records = read_all(&world, &ids).await;
    assert_complete_and_ordered(&records, &keys, 35);
    test_support::eventually("every published row deleted", WAIT, || async {
        (rows(&world).await == 0).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_quiet_outbox_keeps_its_slot_from_pinning_the_log_other_databases_write() {
    let world = World::new("quiet", Capture::Wal).await;
    let relay = world.relay(&[("RELAY_HEARTBEAT_MS", "500".into())]).await;
    relay.wait_until_leader().await;
    let ids = world.write(&keys(1), 1..=3).await;
    read_all(&world, &ids).await;

    // About 30 MB of log from another database while the outbox stays quiet. Without the
    // heartbeat the slot would keep all of it: its position stays at the outbox's last commit.
    let other = world.env.fresh_database().await;
    test_support::execute(
        &other,
        "CREATE TABLE filler (id int, pad text); \
         INSERT INTO filler SELECT g, repeat('x', 1000) FROM generate_series(1, 25000) g; \
         CHECKPOINT;",
    )
    .await;
    let written = 25_000.0 * 1_000.0;
    test_support::eventually(
        "the slot to let the other database's log go",
        WAIT,
        || async {
            // A new running-transactions record lets the slot's restart point move on.
            test_support::execute(&other, "CHECKPOINT").await;
            let retained = test_support::count(
                &world.db,
                "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint AS n \
             FROM pg_replication_slots WHERE database = current_database()",
            )
            .await as f64;
            let reported = relay.metric("relay_slot_retained_bytes").await;
            (retained < written / 4.0 && reported > 0.0 && reported < written / 4.0).then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn a_transaction_larger_than_a_batch_is_sent_in_parts_whole_and_in_order() {
    use diesel_async::{AsyncConnection, AsyncPgConnection};
    let world = World::new("large-tx", Capture::Wal).await;
    let keys = keys(3);
    let relay = world
        .relay(&[
            ("RELAY_BATCH_SIZE", "7".into()),
            ("RELAY_PIPELINE_DEPTH", "2".into()),
        ])
        .await;
    relay.wait_until_leader().await;
    // 60 events in one transaction: nine parts of at most 7, only the last confirming it.
    let mut conn = AsyncPgConnection::establish(&world.db).await.unwrap();
    let mut ids = conn
        .transaction(async |conn| {
            let mut ids = Vec::new();
            for version in 1..=20 {
                for key in &keys {
                    let change = common::widget_change(key, version);
                    ids.push(outbox::record(conn, change).await?.id);
                }
            }
            Ok::<_, outbox::OutboxError>(ids)
        })
        .await
        .unwrap();
    ids.extend(world.write(&keys, 21..=22).await);
    let records = read_all(&world, &ids).await;
    assert_complete_and_ordered(&records, &keys, 22);
    test_support::eventually("every published row deleted", WAIT, || async {
        (rows(&world).await == 0).then_some(())
    })
    .await;
}
