//! `EVENT_FORMAT=avro`: the relay registers the event schemas and publishes Confluent-framed
//! Avro, the consumers decode it by schema id, and the whole flow behaves as in JSON mode. The
//! schema registry, broker, MongoDB and mail catcher are real servers; the services are real
//! processes.
//!
//! Customer changes are made through customer-api's own store (the same transaction of row
//! and outbox event its HTTP handlers run), so this test does not depend on how the API
//! authenticates its callers.

use customer_api::domain::{CustomerInput, CustomerPatch};
use mongodb::bson::{doc, Document};
use std::time::Duration;
use test_support::{
    mail::{Mail, MailCatcher},
    mongo,
    process::{RunningService, ServiceProcess},
    registry::SchemaRegistry,
    topic, TestEnv,
};
use web::etag::IfMatch;

const WAIT: Duration = Duration::from_secs(90);

fn avro_env(registry: &SchemaRegistry) -> Vec<(&'static str, String)> {
    vec![
        ("EVENT_FORMAT", "avro".to_owned()),
        ("SCHEMA_REGISTRY_URL", registry.url.clone()),
        // The registry takes registrations from admins only; the relay signs its own token.
        ("JWT_SECRET", test_support::TEST_JWT_SECRET.to_owned()),
    ]
}

#[tokio::test]
async fn relay_refuses_to_start_when_the_registry_rejects_a_schema_as_incompatible() {
    let env = TestEnv::get();
    let registry = SchemaRegistry::start().await;
    let db = env.fresh_database().await;
    runtime::db::migrate(&db, &[outbox::MIGRATIONS])
        .await
        .unwrap();
    let prefix = test_support::unique("avro-refuse") + ".";
    let subject = format!("{prefix}customers-value");
    // Someone registered a customers schema whose `id` is a long: under the default BACKWARD
    // level the platform's schema (a uuid string) cannot read its data.
    registry
        .register(
            &subject,
            r#"{"type":"record","name":"ChangeEvent","namespace":"platform.customers","fields":[{"name":"id","type":"long"}]}"#,
        )
        .await;

    let mut envs = vec![
        (
            "RELAY_ADDR",
            format!("127.0.0.1:{}", test_support::free_port()),
        ),
        ("RELAY_DATABASE_URL", db.clone()),
        ("KAFKA_BOOTSTRAP_SERVERS", env.bootstrap.clone()),
        ("TOPIC_PREFIX", prefix.clone()),
    ];
    envs.extend(avro_env(&registry));
    let mut relay = ServiceProcess::spawn("outbox-relay", &envs, &env.runtime_dir);
    let status = relay.wait(Duration::from_secs(60)).await;
    assert!(!status.success(), "the relay must exit with an error");
    let log = relay.log();
    assert!(
        log.contains("refusing to start") && log.contains("incompatible") && log.contains(&subject),
        "the log says why: {log}"
    );
}

#[tokio::test]
async fn avro_mode_create_update_delete_reach_mongodb_and_the_inbox() {
    let env = TestEnv::get();
    let registry = SchemaRegistry::start().await;
    let (db, store) = platform_tests::customer_store(&env).await;
    let prefix = test_support::unique("avro-e2e") + ".";
    let mongo_uri = mongo::shared_uri();
    let replica = test_support::unique("replica").replace('-', "_");
    let mail = MailCatcher::shared();

    let mut relay_env = avro_env(&registry);
    relay_env.push(("RELAY_BATCH_SIZE", "10".to_owned()));
    let relay = RunningService::relay(&db, &env.bootstrap, &prefix, &relay_env).await;
    let mut replicator_env = vec![
        ("KAFKA_BOOTSTRAP_SERVERS", env.bootstrap.clone()),
        ("TOPIC_PREFIX", prefix.clone()),
        ("REPLICATOR_TOPICS", "customers".to_owned()),
        ("REPLICATOR_GROUP", test_support::unique("replicator")),
        ("MONGODB_URI", mongo_uri.clone()),
        ("MONGODB_DATABASE", replica.clone()),
    ];
    replicator_env.extend(avro_env(&registry));
    let _replicator = RunningService::start("replicator", "REPLICATOR_ADDR", &replicator_env).await;
    let mut notifier_env = vec![
        ("KAFKA_BOOTSTRAP_SERVERS", env.bootstrap.clone()),
        ("TOPIC_PREFIX", prefix.clone()),
        ("NOTIFIER_GROUP", test_support::unique("notifier")),
        ("NOTIFIER_DATABASE_URL", env.fresh_database().await),
    ];
    notifier_env.extend(mail.smtp_env());
    notifier_env.extend(avro_env(&registry));
    let _notifier = RunningService::start("notifier", "NOTIFIER_ADDR", &notifier_env).await;

    let customers = mongo::client(&mongo_uri)
        .await
        .database(&replica)
        .collection::<Document>("customers");
    let email = format!("{}@example.com", test_support::unique("mary"));
    let fields = CustomerInput {
        name: "Mary Jackson".into(),
        email: email.clone(),
        phone: Some("+1 555-0100".into()),
    }
    .parse()
    .unwrap();
    let created = store.create(fields).await.unwrap();
    let id = created.id.to_string();

    let replicated = test_support::eventually("the created customer in MongoDB", WAIT, || async {
        customers.find_one(doc! {"_id": &id}).await.ok().flatten()
    })
    .await;
    assert_eq!(replicated.get_str("name").unwrap(), "Mary Jackson");
    assert_eq!(replicated.get_str("email").unwrap(), email);
    let welcome = mail.wait_for(&email, 1, WAIT).await;
    assert_eq!(welcome[0].subject, "Your record has been created");

    // What went over the wire: Confluent framing with the id the registry gave the subject.
    let subject = format!("{prefix}customers-value");
    let registered = registry.latest(&subject).await;
    let records = topic::read_raw_until(&env.bootstrap, &format!("{prefix}customers"), WAIT, |r| {
        !r.is_empty()
    })
    .await;
    let value = &records[0].payload;
    assert_eq!(value[0], 0, "magic byte");
    assert_eq!(
        u32::from_be_bytes(value[1..5].try_into().unwrap()),
        registered["id"].as_u64().unwrap() as u32
    );
    assert_eq!(
        records[0].key.as_deref(),
        Some(id.as_str()),
        "keys stay UTF-8"
    );
    assert_eq!(
        registered["schema"]
            .as_str()
            .map(|s| s.contains("platform.customers")),
        Some(true)
    );

    store
        .update(created.id, &IfMatch::Any, |current| {
            CustomerPatch {
                name: Some("Mary W. Jackson".into()),
                email: None,
                phone: Some(None),
            }
            .apply(current)
        })
        .await
        .unwrap();
    mongo::document_at_version(&customers, &id, 2, WAIT).await;
    let mails = mail.wait_for(&email, 2, WAIT).await;
    let update = Mail::with_subject(&mails, "Your record has been updated");
    assert!(
        update.text.contains("Mary Jackson") && update.text.contains("Mary W. Jackson"),
        "{}",
        update.text
    );

    store.delete(created.id, &IfMatch::Any).await.unwrap();
    mongo::document_gone(&customers, &id, WAIT).await;
    let mails = mail.wait_for(&email, 3, WAIT).await;
    assert!(mails
        .iter()
        .any(|m| m.subject == "We are sorry to see you leave"));
    relay
        .wait_for_metric("relay_published_total", 3.0, WAIT)
        .await;
}

#[tokio::test]
async fn the_relay_waits_out_a_registry_outage_and_then_publishes_avro() {
    let env = TestEnv::get();
    let (db, store) = platform_tests::customer_store(&env).await;
    let prefix = test_support::unique("avro-outage") + ".";
    let port = test_support::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let customer = |name: &str| CustomerInput {
        name: name.into(),
        email: format!("{}@example.com", test_support::unique("c")),
        phone: None,
    };

    // Nothing listens at the registry's address: writes still succeed, the relay waits.
    store
        .create(customer("Before").parse().unwrap())
        .await
        .unwrap();
    let relay = RunningService::relay(
        &db,
        &env.bootstrap,
        &prefix,
        &[
            ("EVENT_FORMAT", "avro".to_owned()),
            ("SCHEMA_REGISTRY_URL", url.clone()),
        ],
    )
    .await;
    test_support::eventually("the relay to report the registry outage", WAIT, || async {
        relay
            .process
            .log()
            .contains("cannot register the event schemas yet")
            .then_some(())
    })
    .await;
    store
        .create(customer("During").parse().unwrap())
        .await
        .unwrap();
    let unpublished = "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL";
    assert_eq!(test_support::count(&db, unpublished).await, 2);

    let registry = SchemaRegistry::start_on(port).await;
    let records = topic::read_raw_until(&env.bootstrap, &format!("{prefix}customers"), WAIT, |r| {
        r.len() >= 2
    })
    .await;
    let id = registry.latest(&format!("{prefix}customers-value")).await["id"]
        .as_u64()
        .unwrap() as u32;
    for record in &records {
        assert_eq!(record.payload[0], 0, "magic byte");
        assert_eq!(
            u32::from_be_bytes(record.payload[1..5].try_into().unwrap()),
            id
        );
    }
    test_support::eventually("the outbox drained", WAIT, || async {
        (test_support::count(&db, unpublished).await == 0).then_some(())
    })
    .await;
}
