//! The whole platform under a burst of mixed writes: customers, casts, movies and orders
//! written concurrently through the real APIs, each database relayed by its own relay, orders
//! priced by the order-processor, everything replicated. Afterwards every MongoDB collection
//! holds exactly the live rows of its source table, at the same versions.

use std::time::Duration;
use test_support::{burst::WriteSide, mongo, process::RunningService, TestEnv};

const WAIT: Duration = Duration::from_secs(120);

#[tokio::test]
async fn after_a_burst_of_mixed_writes_the_replica_matches_every_source_table() {
    let env = TestEnv::get();
    let prefix = test_support::unique("burst") + ".";
    let replica = test_support::unique("replica").replace('-', "_");
    let mongo_uri = mongo::shared_uri();
    let writes = WriteSide::start(&env.bootstrap, &prefix, &[]).await;
    let _replicator =
        RunningService::replicator(&env.bootstrap, &prefix, &mongo_uri, &replica, &[]).await;

    let placed = writes.burst().await;
    writes.wait_until_priced(placed, WAIT).await;
    writes
        .assert_replica_matches(&mongo_uri, &replica, WAIT)
        .await;
}
