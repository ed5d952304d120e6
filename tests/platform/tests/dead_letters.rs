//! Dead letters and their re-drive through the gateway: a consumer that cannot handle an event
//! puts it in `<topic>.dlq` and moves on; once the cause is fixed, `POST
//! /api/v1/dlq/{topic}/redrive` puts it back on its topic, and it is applied, once. The
//! relay, replicator, schema registries and gateway are real processes against the real
//! broker and MongoDB-protocol server.
//!
//! The cause is a real one: the replicator is pointed at a schema registry that does not hold
//! the schemas the relay registered elsewhere (a wrong `SCHEMA_REGISTRY_URL`), so it cannot
//! explain the Avro event's schema id and dead-letters it; the fix is to point it at the right
//! registry.

use customer_api::domain::CustomerInput;
use mongodb::bson::{doc, Document};
use serde_json::Value;
use std::time::Duration;
use test_support::{
    mongo,
    process::RunningService,
    registry::SchemaRegistry,
    topic::{self, wait_until_caught_up},
    TestEnv,
};
use web::auth::Role;

const WAIT: Duration = Duration::from_secs(90);

struct Gateway {
    service: RunningService,
    client: reqwest::Client,
}

impl Gateway {
    /// The gateway, showing the replicator as `replicator_group` under `prefix`.
    async fn start(env: &TestEnv, prefix: &str, replicator_group: &str) -> Self {
        let envs = [
            ("GATEWAY_DATABASE_URL", env.fresh_database().await),
            ("JWT_SECRET", test_support::TEST_JWT_SECRET.to_owned()),
            ("ADMIN_PASSWORD", "dead-letters-admin-password".to_owned()),
            ("KAFKA_BOOTSTRAP_SERVERS", env.bootstrap.clone()),
            ("TOPIC_PREFIX", prefix.to_owned()),
            ("GATEWAY_EVENT_TOPICS", "off".to_owned()),
            ("REPLICATOR_GROUP", replicator_group.to_owned()),
            ("REPLICATOR_TOPICS", "customers".to_owned()),
            ("NOTIFIER_GROUP", test_support::unique("notifier")),
            (
                "ORDER_PROCESSOR_GROUP",
                test_support::unique("order-processor"),
            ),
            ("DLQ_REDRIVE_GROUP", test_support::unique("dlq-redrive")),
        ];
        Self {
            service: RunningService::start("gateway", "GATEWAY_ADDR", &envs).await,
            client: reqwest::Client::new(),
        }
    }

    async fn consumers(&self) -> Value {
        let response = self
            .client
            .get(format!("{}/api/v1/consumers", self.service.http))
            .bearer_auth(test_support::token(Role::Reader))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "readers may look");
        response.json().await.unwrap()
    }

    /// The dead letters of `topic` not yet re-driven, as the gateway reports them.
    async fn waiting(&self, topic: &str) -> i64 {
        let overview = self.consumers().await;
        let entry = overview["dead_letters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["topic"] == topic)
            .unwrap_or_else(|| panic!("{topic} in {overview}"))
            .clone();
        assert_eq!(entry["dead_letter_topic"], format!("{topic}.dlq"));
        entry["waiting"].as_i64().unwrap()
    }

    async fn redrive(&self, topic: &str, role: Role) -> reqwest::Response {
        self.client
            .post(format!("{}/api/v1/dlq/{topic}/redrive", self.service.http))
            .bearer_auth(test_support::token(role))
            .send()
            .await
            .unwrap()
    }

    /// Re-drives as an admin; how many were re-driven.
    async fn redrive_all(&self, topic: &str) -> u64 {
        let response = self.redrive(topic, Role::Admin).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["topic"], topic);
        body["redriven"].as_u64().unwrap()
    }
}

#[tokio::test]
async fn a_dead_letter_redriven_once_its_cause_is_fixed_is_applied_exactly_once() {
    let env = TestEnv::get();
    let (registry, unrelated_registry) =
        tokio::join!(SchemaRegistry::start(), SchemaRegistry::start());
    let (db, store) = platform_tests::customer_store(&env).await;
    let prefix = test_support::unique("dlq") + ".";
    let customers_topic = format!("{prefix}customers");
    let mongo_uri = mongo::shared_uri();
    let replica = test_support::unique("replica").replace('-', "_");
    let group = test_support::unique("replicator");
    let (bootstrap, topic_prefix, uri, database) = (&env.bootstrap, &prefix, &mongo_uri, &replica);
    let replicator_with = |registry_url: &str| {
        let envs = [
            ("REPLICATOR_TOPICS", "customers".to_owned()),
            ("REPLICATOR_GROUP", group.clone()),
            ("SCHEMA_REGISTRY_URL", registry_url.to_owned()),
        ];
        async move { RunningService::replicator(bootstrap, topic_prefix, uri, database, &envs).await }
    };

    let _relay = RunningService::relay(
        &db,
        &env.bootstrap,
        &prefix,
        &[
            ("EVENT_FORMAT", "avro".to_owned()),
            ("SCHEMA_REGISTRY_URL", registry.url.clone()),
        ],
    )
    .await;
    let mut replicator = replicator_with(&unrelated_registry.url).await;
    let gateway = Gateway::start(&env, &prefix, &group).await;

    let fields = CustomerInput {
        name: "Dorothy Vaughan".into(),
        email: format!("{}@example.com", test_support::unique("dorothy")),
        phone: None,
    }
    .parse()
    .unwrap();
    let id = store.create(fields).await.unwrap().id.to_string();

    // Poison: the replicator's registry cannot explain the schema id, so the event is
    // dead-lettered with the reason and origin, its own headers kept, and the replicator moves on.
    let dlq = format!("{customers_topic}.dlq");
    let letters = topic::read_raw(&env.bootstrap, &dlq, 1, WAIT).await;
    let letter = &letters[0];
    assert_eq!(letter.key.as_deref(), Some(id.as_str()));
    assert_eq!(letter.header("dlq.consumer"), "replicator");
    assert_eq!(letter.header("dlq.topic"), customers_topic);
    assert!(
        letter.header("dlq.error").contains("404"),
        "the reason names the registry's answer: {letter:?}"
    );
    let event_id = letter.header("id").to_owned();
    assert_eq!(letter.header("type"), "customer.created");
    let replicator_caught_up = || {
        let topics = std::slice::from_ref(&customers_topic);
        wait_until_caught_up(&env.bootstrap, &group, topics, WAIT)
    };
    replicator_caught_up().await;
    let customers = mongo::client(&mongo_uri)
        .await
        .database(&replica)
        .collection::<Document>("customers");
    assert!(customers
        .find_one(doc! {"_id": &id})
        .await
        .unwrap()
        .is_none());
    assert_eq!(gateway.waiting(&customers_topic).await, 1);
    let overview = gateway.consumers().await;
    let shown = &overview["groups"][0];
    assert_eq!(shown["consumer"], "replicator");
    assert_eq!(shown["group"], group);
    assert_eq!(shown["topics"][0]["topic"], customers_topic);
    assert_eq!(shown["topics"][0]["lag"], 0, "{overview}");
    assert_eq!(shown["topics"][0]["partitions"][0]["end"], 1);

    // The fix: the replicator reads the registry the relay writes to.
    assert!(replicator.process.terminate(WAIT).await.success());
    let replicator = replicator_with(&registry.url).await;

    let anonymous = reqwest::get(format!("{}/api/v1/consumers", gateway.service.http))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401, "no token, no look");
    let refused = gateway.redrive(&customers_topic, Role::Reader).await;
    assert_eq!(refused.status(), 403, "a reader cannot re-drive");
    let unknown = gateway.redrive("no-such-topic", Role::Admin).await;
    assert_eq!(unknown.status(), 404);
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(body["error"], "not_found", "{body}");
    assert_eq!(gateway.redrive_all(&customers_topic).await, 1);

    let document = mongo::document_at_version(&customers, &id, 1, WAIT).await;
    assert_eq!(document.get_str("_event_id").unwrap(), event_id);
    assert_eq!(document.get_str("name").unwrap(), "Dorothy Vaughan");
    replicator_caught_up().await;
    let upserted = r#"replicator_events_total{collection="customers",outcome="upserted"}"#;
    assert_eq!(replicator.metric(upserted).await, 1.0, "applied once");
    assert_eq!(gateway.waiting(&customers_topic).await, 0);
    assert_eq!(
        gateway.redrive_all(&customers_topic).await,
        0,
        "a dead letter is re-driven once"
    );

    // On the topic: the event, then its re-drive with the producer's headers and its origin.
    let records = topic::read_raw(&env.bootstrap, &customers_topic, 2, WAIT).await;
    assert_eq!(records[1].payload, records[0].payload);
    assert_eq!(records[1].header("id"), event_id);
    assert_eq!(records[1].header("redriven-from"), format!("{dlq}:0:0"));
    assert!(!records[1].headers.keys().any(|k| k.starts_with("dlq.")));
    assert_eq!(
        kafka::KafkaArgs::new(&env.bootstrap)
            .records_held(&customers_topic)
            .await
            .unwrap(),
        Some(2),
        "the second re-drive published nothing"
    );
}
