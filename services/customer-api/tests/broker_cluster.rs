//! The platform on a three-node Apache Kafka cluster (replication factor 3,
//! `min.insync.replicas=2`) that loses brokers while customers are being written. Each test
//! proves nothing is lost and per-key order holds: the first occurrence of every version on the
//! topic comes in version order (an at-least-once re-send is counted, not failed).
//!
//! The tests share one cluster-sized slice of the machine, so they run one at a time.

mod common;

use common::Customers as _;
use common::{spawn_app, TestApp};
use futures::future::join_all;
use mongodb::bson::Document;
use serde_json::json;
use std::time::Duration;
use test_support::{
    broker::Broker,
    mail::MailCatcher,
    mongo,
    process::RunningService,
    topic::{self, Record},
};

const WAIT: Duration = Duration::from_secs(180);
const WRITERS: usize = 50;
const UPDATES_PER_WRITER: i64 = 6;

static ONE_CLUSTER_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The API, a relay, a replicator and a notifier, all on a three-node cluster.
/// The cluster itself is kept apart (see `Platform::start`) so that a test can kill a broker
/// while writers borrow the platform.
struct Platform {
    app: TestApp,
    bootstrap: String,
    topic: String,
    mail: MailCatcher,
    replica: mongodb::Collection<Document>,
    relay: RunningService,
    _replicator: RunningService,
    notifier: RunningService,
}

impl Platform {
    async fn start() -> (Self, Broker) {
        let app = spawn_app().await;
        let cluster = Broker::cluster(&app.env, 3).await;
        let bootstrap = cluster.bootstrap();
        let prefix = test_support::unique("cluster") + ".";
        let mongo_uri = mongo::shared_uri();
        let replica_db = test_support::unique("replica").replace('-', "_");
        let mail = MailCatcher::shared();
        let relay = RunningService::relay(
            &app.database_url,
            &bootstrap,
            &prefix,
            &[("RELAY_DELIVERY_TIMEOUT_MS", "5000".into())],
        )
        .await;
        let replicator =
            RunningService::replicator(&bootstrap, &prefix, &mongo_uri, &replica_db, &[]).await;
        let notifier_db = app.env.fresh_database().await;
        let notifier =
            RunningService::notifier(&bootstrap, &prefix, &notifier_db, &mail, &[]).await;
        let replica = mongo::client(&mongo_uri)
            .await
            .database(&replica_db)
            .collection::<Document>("customers");
        let platform = Self {
            app,
            bootstrap,
            topic: format!("{prefix}customers"),
            mail,
            replica,
            relay,
            _replicator: replicator,
            notifier,
        };
        (platform, cluster)
    }

    /// Creates `n` customers and waits until their created events are on the topic.
    async fn customers(&self, n: usize) -> Vec<(String, String)> {
        let created =
            join_all((0..n).map(|i| async move { self.app.create(&format!("Writer {i}")).await }))
                .await;
        let customers: Vec<(String, String)> = created
            .iter()
            .map(|c| {
                (
                    c["id"].as_str().unwrap().to_owned(),
                    c["email"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        self.read_until_version(&customers, 1).await;
        customers
    }

    /// PATCHes customer `id` `count` times, returning each response's status.
    async fn update(&self, id: &str, count: i64, label: &str) -> Vec<u16> {
        let url = self.app.url(&format!("/api/v1/customers/{id}"));
        let mut statuses = Vec::new();
        for n in 0..count {
            let response = self
                .app
                .client
                .patch(&url)
                .json(&json!({"name": format!("{label} {n}")}))
                .send()
                .await
                .unwrap();
            statuses.push(response.status().as_u16());
        }
        statuses
    }

    /// Reads the topic until every customer's `version` is there.
    async fn read_until_version(
        &self,
        customers: &[(String, String)],
        version: i64,
    ) -> Vec<Record> {
        topic::read_until(&self.bootstrap, &self.topic, WAIT, |records| {
            customers.iter().all(|(id, _)| {
                records
                    .iter()
                    .any(|r| &r.key == id && r.event.version == version)
            })
        })
        .await
    }

    /// Nothing lost, per-key order kept: each customer's first occurrences are 1..=`last`.
    fn assert_in_order(&self, records: &[Record], customers: &[(String, String)], last: i64) {
        let sent = records.len();
        let distinct: usize = customers
            .iter()
            .map(|(id, _)| topic::first_occurrences(records, id).len())
            .sum();
        for (id, _) in customers {
            assert_eq!(
                topic::first_occurrences(records, id),
                (1..=last).collect::<Vec<_>>(),
                "customer {id}: versions in topic order (first occurrences)"
            );
        }
        eprintln!(
            "{sent} records on the topic for {distinct} versions ({} re-sends)",
            sent - distinct
        );
    }

    /// The MongoDB replica equals the source table, document for document.
    async fn assert_replica_equals_source(&self) {
        common::assert_replica_equals_source(&self.app.database_url, &self.replica, WAIT).await;
    }

    /// Every customer got exactly `count` emails, none twice (each Message-ID once).
    async fn assert_emails_once(&self, customers: &[(String, String)], count: usize) {
        for (_, email) in customers {
            self.mail.wait_for(email, count, WAIT).await;
        }
        // The notifier has handled everything on the topic: no further mail is on its way.
        let lag = format!("consumer_lag{{topic=\"{}\"}}", self.topic);
        test_support::eventually("the notifier to catch up", WAIT, || async {
            (self.notifier.metric(&lag).await == 0.0).then_some(())
        })
        .await;
        for (id, email) in customers {
            let mails = self.mail.messages_to(email).await;
            let mut ids: Vec<_> = mails.iter().map(|m| m.message_id.clone()).collect();
            ids.sort();
            ids.dedup();
            assert_eq!(mails.len(), count, "customer {id}: emails received");
            assert_eq!(ids.len(), count, "customer {id}: each email once");
        }
    }

    async fn unpublished(&self) -> i64 {
        test_support::count(
            &self.app.database_url,
            "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL",
        )
        .await
    }
}

#[tokio::test]
async fn killing_the_leader_of_customers_under_fifty_writers_loses_nothing_and_keeps_order() {
    let _one = ONE_CLUSTER_AT_A_TIME.lock().await;
    let (platform, mut cluster) = Platform::start().await;
    let customers = platform.customers(WRITERS).await;
    let (leader, isr) = cluster.partition_state(&platform.topic).await;
    assert_eq!(
        isr.len(),
        3,
        "replicated three ways before the fault: {isr:?}"
    );

    let writers = join_all(
        customers
            .iter()
            .map(|(id, _)| platform.update(id, UPDATES_PER_WRITER, "Renamed")),
    );
    let kill = async {
        // Mid-burst: once some of the updates are on the topic.
        platform
            .relay
            .wait_for_metric("relay_published_total", (WRITERS + 20) as f64, WAIT)
            .await;
        cluster.kill_node(leader).await;
    };
    let (statuses, ()) = tokio::join!(writers, kill);
    let statuses: Vec<u16> = statuses.into_iter().flatten().collect();
    assert!(
        statuses.iter().all(|s| *s == 200),
        "the API stays 2xx: {statuses:?}"
    );

    let records = platform
        .read_until_version(&customers, 1 + UPDATES_PER_WRITER)
        .await;
    platform.assert_in_order(&records, &customers, 1 + UPDATES_PER_WRITER);
    let (new_leader, _) = cluster.partition_state(&platform.topic).await;
    assert_ne!(
        new_leader, leader,
        "another broker leads customers after the kill"
    );
    platform.assert_replica_equals_source().await;
    platform
        .assert_emails_once(&customers, 1 + UPDATES_PER_WRITER as usize)
        .await;
}

#[tokio::test]
async fn a_killed_broker_rejoins_and_the_partition_is_fully_in_sync_again() {
    let _one = ONE_CLUSTER_AT_A_TIME.lock().await;
    let (platform, mut cluster) = Platform::start().await;
    let customers = platform.customers(10).await;
    let (leader, _) = cluster.partition_state(&platform.topic).await;
    cluster.kill_node(leader).await;
    // Written while the broker is away: it has to catch up on these when it returns.
    let statuses = join_all(
        customers
            .iter()
            .map(|(id, _)| platform.update(id, 3, "Away")),
    )
    .await;
    assert!(statuses.iter().flatten().all(|s| *s == 200), "{statuses:?}");
    platform.read_until_version(&customers, 4).await;
    let (_, isr) = cluster.partition_state(&platform.topic).await;
    assert!(
        !isr.contains(&leader),
        "the killed broker left the ISR: {isr:?}"
    );

    cluster.resume_node(leader).await;
    test_support::eventually(
        "the restarted broker back in the ISR (3 in sync)",
        WAIT,
        || async {
            let (_, isr) = cluster.partition_state(&platform.topic).await;
            (isr.len() == 3).then_some(())
        },
    )
    .await;
    // In sync means it holds every record: written after its return, they are acknowledged by
    // all three (acks=all), and the earlier ones are on the topic in order.
    let statuses = join_all(
        customers
            .iter()
            .map(|(id, _)| platform.update(id, 1, "Back")),
    )
    .await;
    assert!(statuses.iter().flatten().all(|s| *s == 200), "{statuses:?}");
    let records = platform.read_until_version(&customers, 5).await;
    platform.assert_in_order(&records, &customers, 5);
    platform.assert_replica_equals_source().await;
}

#[tokio::test]
async fn with_two_brokers_down_writes_wait_in_the_outbox_and_drain_when_one_returns() {
    let _one = ONE_CLUSTER_AT_A_TIME.lock().await;
    let (platform, mut cluster) = Platform::start().await;
    let customers = platform.customers(10).await;
    platform.assert_emails_once(&customers, 1).await;
    let (leader, isr) = cluster.partition_state(&platform.topic).await;
    let follower = *isr.iter().find(|id| **id != leader).expect("a follower");
    cluster.kill_node(leader).await;
    cluster.kill_node(follower).await;
    let published_before = platform.relay.metric("relay_published_total").await;

    // One broker of three is left: no quorum, fewer in-sync replicas than min.insync.replicas.
    let statuses = join_all(
        customers
            .iter()
            .map(|(id, _)| platform.update(id, 2, "Down")),
    )
    .await;
    assert!(
        statuses.iter().flatten().all(|s| *s == 200),
        "the API keeps accepting: {statuses:?}"
    );
    platform
        .relay
        .wait_for_metric("relay_publish_failures_total", 1.0, WAIT)
        .await;
    assert_eq!(
        platform.unpublished().await,
        (customers.len() * 2) as i64,
        "the relay marks nothing published while the cluster cannot take it"
    );
    assert_eq!(
        platform.relay.metric("relay_published_total").await,
        published_before
    );

    cluster.resume_node(follower).await;
    let records = platform.read_until_version(&customers, 3).await;
    platform.assert_in_order(&records, &customers, 3);
    test_support::eventually("the outbox to drain", WAIT, || async {
        (platform.unpublished().await == 0).then_some(())
    })
    .await;
    platform.assert_replica_equals_source().await;
    platform.assert_emails_once(&customers, 3).await;
}
