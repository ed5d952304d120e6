//! The replicator against a real Kafka-protocol broker and a real MongoDB-protocol server:
//! the read model follows the topic, exactly once in effect, through redelivery, outages,
//! poison messages and SIGKILL.

use events::ChangeEvent;
use mongodb::bson::{doc, Document};
use std::time::Duration;
use test_support::{fixtures::Customer, mongo, process::RunningService, topic, TestEnv};

const WAIT: Duration = Duration::from_secs(90);
const STALE: &str = r#"replicator_events_total{collection="customers",outcome="stale"}"#;

struct World {
    env: TestEnv,
    prefix: String,
    mongo_uri: String,
    database: String,
}

impl World {
    fn new(name: &str) -> Self {
        Self::with_mongo(name, mongo::shared_uri())
    }

    fn with_mongo(name: &str, mongo_uri: String) -> Self {
        Self {
            env: TestEnv::get(),
            prefix: test_support::unique(name) + ".",
            mongo_uri,
            database: test_support::unique("replica").replace('-', "_"),
        }
    }

    fn topic(&self) -> String {
        format!("{}customers", self.prefix)
    }

    fn env_for(&self, group: &str, database: &str) -> Vec<(&'static str, String)> {
        vec![
            ("KAFKA_BOOTSTRAP_SERVERS", self.env.bootstrap.clone()),
            ("TOPIC_PREFIX", self.prefix.clone()),
            ("REPLICATOR_GROUP", group.to_owned()),
            ("MONGODB_URI", self.mongo_uri.clone()),
            ("MONGODB_DATABASE", database.to_owned()),
        ]
    }

    async fn replicator(&self, group: &str) -> RunningService {
        RunningService::start(
            "replicator",
            "REPLICATOR_ADDR",
            &self.env_for(group, &self.database),
        )
        .await
    }

    async fn publish(&self, events: &[ChangeEvent]) {
        topic::produce_events(&self.env.bootstrap, &self.topic(), events).await
    }

    async fn documents(&self) -> Vec<Document> {
        documents(&self.mongo_uri, &self.database).await
    }

    /// Waits until the read model holds exactly `expected` (id → version).
    async fn wait_for_state(&self, expected: &[(String, i64)]) -> Vec<Document> {
        test_support::eventually(
            "the read model to reach the expected state",
            WAIT,
            || async {
                let docs = self.documents().await;
                let state: Vec<(String, i64)> = docs
                    .iter()
                    .map(|d| {
                        (
                            d.get_str("_id").unwrap().to_owned(),
                            d.get_i64("_version").unwrap(),
                        )
                    })
                    .collect();
                let mut want = expected.to_vec();
                want.sort();
                (state == want).then_some(docs)
            },
        )
        .await
    }
}

async fn documents(uri: &str, database: &str) -> Vec<Document> {
    use futures::TryStreamExt;
    let client = mongo::client(uri).await;
    let cursor = client
        .database(database)
        .collection::<Document>("customers")
        .find(doc! {})
        .sort(doc! {"_id": 1})
        .await;
    match cursor {
        Ok(cursor) => cursor.try_collect().await.unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

/// A new customer's create and then `updates` renames (to "v2", "v3", …): its last state
/// and its events.
fn history(updates: i64) -> (Customer, Vec<ChangeEvent>) {
    let mut customer = Customer::new("v1");
    let mut events = vec![customer.created()];
    for version in 2..=updates + 1 {
        let (event, next) = customer.updated(|c| c.name = format!("v{version}"));
        events.push(event);
        customer = next;
    }
    (customer, events)
}

fn id(customer: &Customer) -> String {
    customer.id.to_string()
}

#[tokio::test]
async fn create_update_and_delete_show_up_in_mongodb() {
    let world = World::new("crud");
    let _replicator = world.replicator(&test_support::unique("g")).await;
    let (kept, mut events) = history(2);
    let (gone, gone_events) = history(0);
    events.extend(gone_events);
    events.push(gone.deleted());
    world.publish(&events).await;

    let docs = world.wait_for_state(&[(id(&kept), 3)]).await;
    let doc = &docs[0];
    assert_eq!(doc.get_str("name").unwrap(), "v3");
    assert_eq!(doc.get_str("email").unwrap(), kept.email);
    assert_eq!(doc.get_str("_event_id").unwrap(), events[2].id.to_string());
    assert!(doc.get_datetime("_updated_at").is_ok());
}

#[tokio::test]
async fn redelivering_the_whole_topic_changes_nothing() {
    let world = World::new("redeliver");
    let first = world.replicator(&test_support::unique("g")).await;
    let (a, mut events) = history(3);
    let (b, more) = history(1);
    events.extend(more);
    events.push(b.deleted());
    world.publish(&events).await;
    let before = world.wait_for_state(&[(id(&a), 4)]).await;
    drop(first);

    // A new group starts from offset 0: every event is delivered again.
    let replay = world.replicator(&test_support::unique("replay")).await;
    replay
        .wait_for_metric(STALE, events.len() as f64, WAIT)
        .await;
    assert_eq!(
        world.documents().await,
        before,
        "the replay left the read model exactly as it was"
    );
}

#[tokio::test]
async fn older_versions_arriving_late_are_skipped_and_deletes_stay_deleted() {
    let world = World::new("stale");
    let replicator = world.replicator(&test_support::unique("g")).await;
    let (a, a_events) = history(2); // v1..v3
    let (b, b_events) = history(1); // v1..v2
    world
        .publish(&[
            a_events[0].clone(),
            a_events[2].clone(),
            b_events[0].clone(),
            b_events[1].clone(),
            b.deleted(),
        ])
        .await;
    world.wait_for_state(&[(id(&a), 3)]).await;
    let stale_before = replicator.metric(STALE).await;

    // Arriving after the stored v3 and the stored delete (a separate batch, so the version
    // guard in MongoDB decides, not the batch's own ordering).
    world
        .publish(&[
            a_events[1].clone(),
            b_events[1].clone(),
            b_events[0].clone(),
        ])
        .await;
    replicator
        .wait_for_metric(STALE, stale_before + 3.0, WAIT)
        .await;
    let docs = world.documents().await;
    assert_eq!(
        docs.len(),
        1,
        "the deleted customer did not come back: {docs:?}"
    );
    assert_eq!(
        docs[0].get_str("name").unwrap(),
        "v3",
        "the late v2 did not overwrite v3"
    );
}

#[tokio::test]
async fn a_backlog_is_applied_in_bulk_batches() {
    let world = World::new("bulk");
    let mut events = Vec::new();
    let mut expected = Vec::new();
    for _ in 0..100 {
        let (customer, history) = history(2);
        expected.push((id(&customer), 3));
        events.extend(history);
    }
    events.sort_by_key(|e| (e.version, e.aggregate_id.clone()));
    world.publish(&events).await;

    let replicator = world.replicator(&test_support::unique("g")).await;
    let docs = world.wait_for_state(&expected).await;
    assert!(docs.iter().all(|d| d.get_str("name").unwrap() == "v3"));
    let batches = replicator.metric("replicator_batch_size_count").await;
    let handled = replicator.metric("replicator_batch_size_sum").await;
    assert!(handled >= events.len() as f64, "{handled} events handled");
    assert!(
        batches < handled / 2.0,
        "{handled} events in {batches} batches: the backlog was not batched"
    );
}

#[tokio::test]
async fn mongodb_down_for_a_while_then_the_replicator_catches_up_with_nothing_lost() {
    let env = TestEnv::get();
    let mut server = mongo::MongoServer::start(&env).await;
    let world = World::with_mongo("mongo-outage", server.uri());
    let replicator = world.replicator(&test_support::unique("g")).await;
    let (first, events) = history(0);
    world.publish(&events).await;
    world.wait_for_state(&[(id(&first), 1)]).await;

    server.stop().await;
    let mut expected = vec![(id(&first), 1)];
    let mut during = Vec::new();
    for _ in 0..5 {
        let (customer, events) = history(2);
        expected.push((id(&customer), 3));
        during.extend(events);
    }
    world.publish(&during).await;
    replicator
        .wait_for_metric(
            r#"consumer_retries_total{consumer="replicator"}"#,
            2.0,
            WAIT,
        )
        .await;

    server.resume().await;
    world.wait_for_state(&expected).await;
}

#[tokio::test]
async fn a_poison_message_goes_to_the_dlq_and_the_next_event_is_still_applied() {
    let world = World::new("poison");
    let _replicator = world.replicator(&test_support::unique("g")).await;
    topic::produce(
        &world.env.bootstrap,
        &world.topic(),
        &[("bad-key".into(), b"{not json".to_vec())],
    )
    .await;
    let (good, events) = history(0);
    world.publish(&events).await;
    world.wait_for_state(&[(id(&good), 1)]).await;

    let dead = topic::read_raw(
        &world.env.bootstrap,
        &format!("{}.dlq", world.topic()),
        1,
        WAIT,
    )
    .await;
    assert_eq!(dead[0].payload, b"{not json");
    assert_eq!(dead[0].key.as_deref(), Some("bad-key"));
    assert!(dead[0].header("dlq.error").contains("not a change event"));
    assert_eq!(dead[0].header("dlq.topic"), world.topic());
    assert_eq!(dead[0].header("dlq.partition"), "0");
    assert_eq!(dead[0].header("dlq.offset"), "0");
}

#[tokio::test]
async fn sigkill_mid_stream_loses_and_duplicates_nothing() {
    let world = World::new("kill");
    let group = test_support::unique("g");
    let mut first = world.replicator(&group).await;
    let mut events = Vec::new();
    let mut expected = Vec::new();
    for _ in 0..30 {
        let (customer, history) = history(4);
        expected.push((id(&customer), 5));
        events.extend(history);
    }
    // Interleave the aggregates as concurrent writers would.
    events.sort_by_key(|e| (e.version, e.aggregate_id.clone()));
    world.publish(&events).await;
    let upserted = r#"replicator_events_total{collection="customers",outcome="upserted"}"#;
    first.wait_for_metric(upserted, 20.0, WAIT).await;
    first.process.kill9().await;

    let _second = world.replicator(&group).await;
    let docs = world.wait_for_state(&expected).await;
    assert!(docs.iter().all(|d| d.get_str("name").unwrap() == "v5"));
}

#[tokio::test]
async fn resync_rebuilds_the_same_read_model_in_a_fresh_database() {
    let world = World::new("resync");
    let _live = world.replicator(&test_support::unique("g")).await;
    let (a, mut events) = history(2);
    let (b, more) = history(1);
    events.extend(more);
    events.push(b.deleted());
    world.publish(&events).await;
    let live = world.wait_for_state(&[(id(&a), 3)]).await;

    let fresh = test_support::unique("resync").replace('-', "_");
    let mut envs = world.env_for(&test_support::unique("resync"), &fresh);
    envs.push((
        "REPLICATOR_ADDR",
        format!("127.0.0.1:{}", test_support::free_port()),
    ));
    let mut resync = test_support::process::ServiceProcess::spawn_with_args(
        "replicator",
        &["--resync"],
        &envs,
        &world.env.runtime_dir,
    );
    let status = resync.wait(WAIT).await;
    assert!(status.success(), "resync failed:\n{}", resync.log());
    assert_eq!(documents(&world.mongo_uri, &fresh).await, live);
}
