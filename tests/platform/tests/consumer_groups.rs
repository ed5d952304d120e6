//! Scaling out on Kafka's own mechanisms: topics of three partitions, each aggregate's events on
//! one of them (the key's murmur2 hash, as Java clients pick it), and consumers running as
//! several instances of one group that gain and lose partitions mid-stream. The guarantees are
//! the single-partition ones: the replica equals every source table, per key the first
//! occurrences on its partition are in version order, and every email is sent once.

use std::{collections::HashMap, time::Duration};
use test_support::{
    broker::kafka_tool,
    burst::WriteSide,
    mail::MailCatcher,
    mongo,
    process::RunningService,
    topic::{self, Record},
    TestEnv,
};

const WAIT: Duration = Duration::from_secs(180);
const PARTITIONS: i32 = 3;
/// Rounds of the mixed-write burst (about 80 events each): long enough for an instance to join
/// and another to go while events flow.
const ROUNDS: usize = 4;

/// Every process of these tests creates the topics it misses with three partitions.
fn three_partitions() -> (&'static str, String) {
    ("KAFKA_TOPIC_PARTITIONS", PARTITIONS.to_string())
}

/// Waits until the group's `instances` have handled `total` messages between them, each at
/// least `each` (the consume loop's own count, whatever the messages were).
async fn wait_until_handled(what: &str, instances: &[&RunningService], each: f64, total: f64) {
    test_support::eventually(what, WAIT, || async {
        let mut counts = Vec::new();
        for instance in instances {
            counts.push(instance.metric_sum("consumer_messages_total").await);
        }
        (counts.iter().all(|c| *c >= each) && counts.iter().sum::<f64>() >= total).then_some(())
    })
    .await
}

fn topic_names(prefix: &str, names: &[&str]) -> Vec<String> {
    names.iter().map(|n| format!("{prefix}{n}")).collect()
}

#[tokio::test]
async fn a_key_lands_on_the_partition_javas_own_producer_picks_for_it() {
    let env = TestEnv::get();
    let topic = test_support::unique("murmur2");
    topic::create(&env.bootstrap, std::slice::from_ref(&topic), PARTITIONS).await;
    let keys: Vec<String> = (0..120)
        .map(|i| match i % 3 {
            0 => uuid::Uuid::new_v4().to_string(),
            1 => format!("customer-{i}"),
            _ => format!("ключ-{i}-é"),
        })
        .collect();

    // The relay's producer, as the relay builds it.
    let ours = kafka::KafkaArgs::new(&env.bootstrap)
        .ordered_producer(Duration::ZERO)
        .expect("the relay's producer");
    for key in &keys {
        ours.send(
            rdkafka::producer::FutureRecord::to(&topic)
                .key(key)
                .payload("rust"),
            Duration::from_secs(30),
        )
        .await
        .unwrap_or_else(|(e, _)| panic!("producing {key}: {e}"));
    }
    // Kafka's own console producer: the Java client's default partitioner.
    let lines: String = keys.iter().map(|k| format!("{k}\tjava\n")).collect();
    let bootstrap = env.bootstrap.clone();
    let java_topic = topic.clone();
    tokio::task::spawn_blocking(move || {
        kafka_tool(
            "org.apache.kafka.tools.ConsoleProducer",
            &[
                "--bootstrap-server",
                &bootstrap,
                "--topic",
                &java_topic,
                "--reader-property",
                "parse.key=true",
                "--reader-property",
                "key.separator=\t",
            ],
            &lines,
        )
    })
    .await
    .expect("the console producer ran");

    let records =
        topic::read_raw_until(&env.bootstrap, &topic, WAIT, |r| r.len() >= 2 * keys.len()).await;
    let mut placed: HashMap<(String, String), i32> = HashMap::new();
    for r in &records {
        let producer = String::from_utf8_lossy(&r.payload).into_owned();
        placed.insert((r.key.clone().unwrap_or_default(), producer), r.partition);
    }
    let mut used = std::collections::BTreeSet::new();
    for key in &keys {
        let java = placed[&(key.clone(), "java".to_owned())];
        let rust = placed[&(key.clone(), "rust".to_owned())];
        assert_eq!(rust, java, "key {key}: the relay's partition vs Java's");
        used.insert(java);
    }
    assert_eq!(
        used.len(),
        PARTITIONS as usize,
        "the keys spread over every partition"
    );
}

/// Reads each replicated topic until every row's last version is there, and checks that each
/// aggregate stayed on one partition with its first occurrences in version order there.
/// Returns how many partitions held records.
async fn assert_each_key_in_order_on_one_partition(
    bootstrap: &str,
    prefix: &str,
    writes: &WriteSide,
) -> usize {
    let mut partitions_used = std::collections::BTreeSet::new();
    for table in &writes.tables {
        let last = table.last_versions().await;
        let name = format!("{prefix}{}", table.collection);
        let records: Vec<Record> = topic::read_until(bootstrap, &name, WAIT, |records| {
            last.iter().all(|(id, version)| {
                records
                    .iter()
                    .any(|r| &r.key == id && r.event.version == *version)
            })
        })
        .await;
        for (id, version) in &last {
            let mine: Vec<&Record> = records.iter().filter(|r| &r.key == id).collect();
            let partition = mine[0].partition;
            assert!(
                mine.iter().all(|r| r.partition == partition),
                "{name}: key {id} on one partition"
            );
            partitions_used.insert((name.clone(), partition));
            assert_eq!(
                topic::first_occurrences(&records, id),
                (1..=*version).collect::<Vec<_>>(),
                "{name}: key {id}, versions in partition order (first occurrences)"
            );
        }
    }
    partitions_used.len()
}

#[tokio::test]
async fn replicators_joining_and_killed_mid_burst_on_three_partitions_keep_the_replica_equal_and_keys_in_order(
) {
    let env = TestEnv::get();
    let prefix = test_support::unique("groups") + ".";
    let topics = topic_names(
        &prefix,
        &["customers", "movies", "casts", "orders", "order-executions"],
    );
    topic::create(&env.bootstrap, &topics, PARTITIONS).await;
    let writes = WriteSide::start(&env.bootstrap, &prefix, &[three_partitions()]).await;
    let mongo_uri = mongo::shared_uri();
    let replica = test_support::unique("replica").replace('-', "_");
    let group = test_support::unique("replicator");
    let settings = [
        ("REPLICATOR_GROUP", group.clone()),
        // Small batches: more commits, more chances for a rebalance to cut into one.
        ("REPLICATOR_BATCH_SIZE", "5".to_owned()),
        three_partitions(),
    ];
    let instance =
        || RunningService::replicator(&env.bootstrap, &prefix, &mongo_uri, &replica, &settings);
    let mut first = instance().await;
    let second = instance().await;

    let rounds = async {
        let mut placed = 0;
        for _ in 0..ROUNDS {
            placed += writes.burst().await;
        }
        placed
    };
    let rebalances = async {
        wait_until_handled(
            "both replicators to apply events",
            &[&first, &second],
            1.0,
            40.0,
        )
        .await;
        let third = instance().await;
        let all = [&first, &second, &third];
        wait_until_handled("the three to apply more events", &all, 0.0, 120.0).await;
        first.process.kill9().await;
        third
    };
    let (placed, _third) = tokio::join!(rounds, rebalances);

    writes.wait_until_priced(placed, WAIT).await;
    writes
        .assert_replica_matches(&mongo_uri, &replica, WAIT)
        .await;
    let used = assert_each_key_in_order_on_one_partition(&env.bootstrap, &prefix, &writes).await;
    assert!(
        used > topics.len(),
        "the keys spread over several partitions per topic ({used} of {} used)",
        topics.len() * PARTITIONS as usize
    );
}

/// Each customer's address and how many emails it is owed: one per event, and its last
/// version counts its events.
async fn emails_owed(writes: &WriteSide) -> Vec<(String, usize)> {
    let customers = &writes.tables[0];
    assert_eq!(customers.table, "customers");
    let rows = test_support::text(
        &customers.database,
        "SELECT string_agg(email || ' ' || version, ',') AS s FROM customers",
    )
    .await;
    rows.split(',')
        .map(|r| {
            let (email, version) = r.rsplit_once(' ').expect("email version");
            (email.to_owned(), version.parse().expect("a version"))
        })
        .collect()
}

#[tokio::test]
async fn notifiers_joining_and_leaving_mid_burst_on_three_partitions_send_every_email_once() {
    let env = TestEnv::get();
    let prefix = test_support::unique("notify") + ".";
    let topics = topic_names(&prefix, &["customers", "order-executions"]);
    topic::create(&env.bootstrap, &topics, PARTITIONS).await;
    let writes = WriteSide::start(&env.bootstrap, &prefix, &[three_partitions()]).await;
    let mail = MailCatcher::shared();
    let ledger = env.fresh_database().await;
    let group = test_support::unique("notifier");
    let settings = [("NOTIFIER_GROUP", group.clone()), three_partitions()];
    let instance = || RunningService::notifier(&env.bootstrap, &prefix, &ledger, &mail, &settings);
    let mut first = instance().await;
    let second = instance().await;
    // Handled, not sent: an instance may own only order-executions partitions, whose orders
    // have no customer to mail.

    let rounds = async {
        for _ in 0..ROUNDS {
            writes.burst().await;
        }
    };
    let rebalances = async {
        wait_until_handled(
            "both notifiers to handle events",
            &[&first, &second],
            1.0,
            20.0,
        )
        .await;
        let third = instance().await;
        let all = [&first, &second, &third];
        wait_until_handled("the three to handle more", &all, 0.0, 60.0).await;
        let status = first.process.terminate(Duration::from_secs(30)).await;
        assert!(status.success(), "the leaving notifier exits 0: {status}");
        third
    };
    let ((), third) = tokio::join!(rounds, rebalances);

    let owed = emails_owed(&writes).await;
    for (email, count) in &owed {
        mail.wait_for(email, *count, WAIT).await;
    }
    test_support::eventually(
        "the group to have committed every customer event",
        WAIT,
        || async {
            topic::group_caught_up(&env.bootstrap, &group, &topics[0])
                .await
                .then_some(())
        },
    )
    .await;
    for (email, count) in &owed {
        let mails = mail.messages_to(email).await;
        let mut ids: Vec<_> = mails.iter().map(|m| m.message_id.clone()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(mails.len(), *count, "{email}: emails received");
        assert_eq!(ids.len(), *count, "{email}: each email once");
    }
    // Partitions changed hands twice, and each time the new owner started right after what
    // the old one had applied: no event reached a second instance.
    const REDELIVERED: &str = "notifier_skipped_duplicate_total";
    let redelivered = second.metric_sum(REDELIVERED).await + third.metric_sum(REDELIVERED).await;
    assert_eq!(
        redelivered, 0.0,
        "events handled twice across the rebalances"
    );
}
