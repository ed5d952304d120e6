//! `scripts/replay.sh`: a consumer group moved back to the start of its topics handles the
//! whole history again, and the consumers' idempotence makes that harmless. The relay,
//! replicator and notifier are real processes against the real broker, MongoDB-protocol server
//! and mail catcher; the script runs Kafka's own kafka-consumer-groups.

use customer_api::domain::{CustomerInput, CustomerPatch};
use mongodb::bson::Document;
use std::{
    collections::{BTreeMap, BTreeSet},
    path::PathBuf,
    time::Duration,
};
use test_support::{
    mail::MailCatcher,
    mongo,
    process::RunningService,
    topic::{group_lag, wait_until_caught_up},
    TestEnv,
};
use web::etag::IfMatch;

const WAIT: Duration = Duration::from_secs(90);

/// Every document of the replica's collections, as BSON bytes, by collection and id.
async fn snapshot(db: &mongodb::Database) -> BTreeMap<(String, String), Vec<u8>> {
    let mut documents = BTreeMap::new();
    for collection in ["customers", "_tombstones"] {
        for document in mongo::all_documents(&db.collection::<Document>(collection)).await {
            let id = document.get_str("_id").unwrap().to_owned();
            let bytes = mongodb::bson::to_vec(&document).unwrap();
            documents.insert((collection.to_owned(), id), bytes);
        }
    }
    documents
}

/// Each mail to `addresses` as (recipient, subject, Message-ID), sorted.
async fn inbox(mail: &MailCatcher, addresses: &[String]) -> Vec<(String, String, String)> {
    let mut all = Vec::new();
    for address in addresses {
        for m in mail.messages_to(address).await {
            all.push((address.clone(), m.subject, m.message_id.unwrap_or_default()));
        }
    }
    all.sort();
    all
}

fn replay_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/replay.sh")
}

/// `scripts/replay.sh --group <group> --to-earliest [extra…]`, as an operator runs it: whether
/// it succeeded, and what it said.
async fn replay_to_earliest(env: &TestEnv, group: &str, extra: &[&str]) -> (bool, String) {
    let output = tokio::process::Command::new(replay_script())
        .args(["--group", group, "--to-earliest"])
        .args(extra)
        .env("KAFKA_BOOTSTRAP_SERVERS", &env.bootstrap)
        // No platform runs there: the script stops and restarts nothing.
        .env("PLATFORM_RUNTIME_DIR", env.scratch_dir("replay-platform"))
        .output()
        .await
        .expect("running scripts/replay.sh");
    (
        output.status.success(),
        test_support::process::output_text(&output),
    )
}

#[tokio::test]
async fn replaying_the_whole_history_changes_no_document_and_sends_no_email_twice() {
    let env = TestEnv::get();
    let (db, store) = platform_tests::customer_store(&env).await;
    let prefix = test_support::unique("replay") + ".";
    let customers_topic = vec![format!("{prefix}customers")];
    let mongo_uri = mongo::shared_uri();
    let replica = test_support::unique("replica").replace('-', "_");
    let mail = MailCatcher::shared();
    let ledger = env.fresh_database().await;
    let replicator_group = test_support::unique("replicator");
    let notifier_group = test_support::unique("notifier");
    let replicator_env = [
        ("REPLICATOR_TOPICS", "customers".to_owned()),
        ("REPLICATOR_GROUP", replicator_group.clone()),
    ];
    let start_replicator = || {
        RunningService::replicator(
            &env.bootstrap,
            &prefix,
            &mongo_uri,
            &replica,
            &replicator_env,
        )
    };
    let mut notifier_env = vec![
        ("KAFKA_BOOTSTRAP_SERVERS", env.bootstrap.clone()),
        ("TOPIC_PREFIX", prefix.clone()),
        ("NOTIFIER_GROUP", notifier_group.clone()),
        ("NOTIFIER_DATABASE_URL", ledger.clone()),
    ];
    notifier_env.extend(mail.smtp_env());
    let start_notifier = || RunningService::start("notifier", "NOTIFIER_ADDR", &notifier_env);

    let _relay = RunningService::relay(&db, &env.bootstrap, &prefix, &[]).await;
    let mut replicator = start_replicator().await;
    let mut notifier = start_notifier().await;

    // A history with every kind of change: creates, an update, a delete.
    let mut addresses = Vec::new();
    let mut ids = Vec::new();
    for name in ["Ada", "Grace", "Katherine"] {
        let email = format!("{}@example.com", test_support::unique(name).to_lowercase());
        let fields = CustomerInput {
            name: name.into(),
            email: email.clone(),
            phone: None,
        }
        .parse()
        .unwrap();
        ids.push(store.create(fields).await.unwrap().id);
        addresses.push(email);
    }
    store
        .update(ids[0], &IfMatch::Any, |current| {
            CustomerPatch {
                name: Some("Ada King".into()),
                email: None,
                phone: None,
            }
            .apply(current)
        })
        .await
        .unwrap();
    store.delete(ids[1], &IfMatch::Any).await.unwrap();
    let events = 5;

    let replica_db = mongo::client(&mongo_uri).await.database(&replica);
    let customers = replica_db.collection::<Document>("customers");
    mongo::document_at_version(&customers, &ids[0].to_string(), 2, WAIT).await;
    mongo::document_gone(&customers, &ids[1].to_string(), WAIT).await;
    mongo::document_at_version(&customers, &ids[2].to_string(), 1, WAIT).await;
    mail.wait_for(&addresses[0], 2, WAIT).await;
    mail.wait_for(&addresses[1], 2, WAIT).await;
    mail.wait_for(&addresses[2], 1, WAIT).await;
    let notifier_topics = vec![
        format!("{prefix}customers"),
        format!("{prefix}order-executions"),
    ];
    wait_until_caught_up(&env.bootstrap, &replicator_group, &customers_topic, WAIT).await;
    wait_until_caught_up(&env.bootstrap, &notifier_group, &notifier_topics, WAIT).await;
    let documents_before = snapshot(&replica_db).await;
    let mails_before = inbox(&mail, &addresses).await;
    assert_eq!(documents_before.len(), 3, "two customers and a tombstone");
    assert_eq!(mails_before.len(), events);

    // Kafka resets only an inactive group: a running consumer's group is refused, untouched.
    let (reset, output) = replay_to_earliest(&env, &replicator_group, &[]).await;
    assert!(!reset, "a group with an active member is refused: {output}");
    assert!(output.contains("active member"), "it says why: {output}");
    let lag = group_lag(&env.bootstrap, &replicator_group, &customers_topic).await;
    assert_eq!(lag[0].partitions[0].committed, Some(events as i64));

    // Stop the consumers, replay, start them again.
    assert!(replicator.process.terminate(WAIT).await.success());
    assert!(notifier.process.terminate(WAIT).await.success());
    for group in [&replicator_group, &notifier_group] {
        let (planned, plan) = replay_to_earliest(&env, group, &["--dry-run"]).await;
        assert!(planned, "{plan}");
        let lag = group_lag(&env.bootstrap, group, &customers_topic).await;
        assert_eq!(lag[0].lag, 0, "a dry run changes nothing: {plan}");
        let (reset, output) = replay_to_earliest(&env, group, &[]).await;
        assert!(reset, "replay.sh failed: {output}");
        assert!(
            output.contains("--to-earliest"),
            "it says what it does: {output}"
        );
        let lag = group_lag(&env.bootstrap, group, &customers_topic).await;
        assert_eq!(
            lag[0].partitions[0].committed,
            Some(0),
            "{group} is back at the start"
        );
        assert_eq!(lag[0].lag, events as i64);
    }
    let replicator = start_replicator().await;
    let notifier = start_notifier().await;
    wait_until_caught_up(&env.bootstrap, &replicator_group, &customers_topic, WAIT).await;
    wait_until_caught_up(&env.bootstrap, &notifier_group, &notifier_topics, WAIT).await;

    // The whole history was handled again, and changed nothing.
    let stale = r#"replicator_events_total{collection="customers",outcome="stale"}"#;
    assert_eq!(replicator.metric(stale).await, events as f64);
    assert_eq!(
        notifier.metric("notifier_skipped_duplicate_total").await,
        events as f64
    );
    assert_eq!(notifier.metric("notifier_sent_total").await, 0.0);
    assert_eq!(
        snapshot(&replica_db).await,
        documents_before,
        "every document byte for byte as before"
    );
    let mails_after = inbox(&mail, &addresses).await;
    assert_eq!(mails_after, mails_before, "no email sent twice");
    let message_ids: BTreeSet<&String> = mails_after.iter().map(|(_, _, id)| id).collect();
    assert_eq!(message_ids.len(), events, "each Message-ID once");
    let held = kafka::KafkaArgs::new(&env.bootstrap)
        .records_held(&customers_topic[0])
        .await
        .unwrap();
    assert_eq!(held, Some(events as i64), "the replay published nothing");
}
