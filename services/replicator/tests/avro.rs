//! Avro events in the replicator: messages written under any registered version of the
//! subject apply, JSON and Avro messages mix on one topic (a migration), and an Avro message
//! whose schema the registry does not know is dead-lettered. Real registry, broker and MongoDB.

use apache_avro::Schema;
use codec::{avro, schemas};
use events::ChangeEvent;
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use serde_json::{json, Value};
use std::time::Duration;
use test_support::{
    fixtures::Customer, mongo, process::RunningService, registry::SchemaRegistry, topic, TestEnv,
};

const WAIT: Duration = Duration::from_secs(90);

/// Confluent's wire format: magic byte 0, the schema id big-endian, the Avro body.
fn framed(id: u32, event: &Value, schema: &Schema) -> Vec<u8> {
    let mut bytes = vec![0];
    bytes.extend_from_slice(&id.to_be_bytes());
    bytes.extend(avro::encode(event, schema).expect("the event fits the schema"));
    bytes
}

/// customers.avsc plus an optional envelope field with a default: a compatible evolution.
fn customers_v2() -> String {
    let mut schema: Value =
        serde_json::from_str(schemas::for_topic("customers").unwrap().text).unwrap();
    schema["fields"].as_array_mut().unwrap().push(json!({
        "name": "trace_id",
        "type": ["null", "string"],
        "default": null,
        "doc": "Added in version 2."
    }));
    schema.to_string()
}

fn record(event: &ChangeEvent, value: Vec<u8>) -> (String, Vec<u8>) {
    (event.aggregate_id.clone(), value)
}

#[tokio::test]
async fn the_replicator_applies_events_written_under_schema_versions_1_and_2() {
    let env = TestEnv::get();
    let registry = SchemaRegistry::start().await;
    let prefix = test_support::unique("avro-versions") + ".";
    let topic = format!("{prefix}customers");
    let subject = format!("{topic}-value");
    let v1_text = schemas::for_topic("customers").unwrap().text;
    let v2_text = customers_v2();
    let v1 = registry.register(&subject, v1_text).await;
    let v2 = registry.register(&subject, &v2_text).await;
    assert_ne!(v1, v2);
    assert_eq!(registry.latest(&subject).await["version"], 2);
    let (v1_schema, v2_schema) = (
        Schema::parse_str(v1_text).unwrap(),
        Schema::parse_str(&v2_text).unwrap(),
    );

    // Ada: created under v1, renamed under v2. Grace: created as JSON (a topic mid-migration).
    let ada = Customer::new("Ada Lovelace");
    let created = ada.created();
    let (renamed, ada_v2) = ada.updated(|c| c.name = "Ada King".into());
    let mut renamed_json = serde_json::to_value(&renamed).unwrap();
    renamed_json["trace_id"] = json!("trace-1");
    let grace = Customer::new("Grace Hopper");
    let grace_created = grace.created();
    let unknown_id = framed(
        v2 + 1000,
        &serde_json::to_value(&created).unwrap(),
        &v1_schema,
    );
    topic::produce(
        &env.bootstrap,
        &topic,
        &[
            record(
                &created,
                framed(v1, &serde_json::to_value(&created).unwrap(), &v1_schema),
            ),
            ("unknown-schema".to_owned(), unknown_id.clone()),
            record(&renamed, framed(v2, &renamed_json, &v2_schema)),
            record(&grace_created, serde_json::to_vec(&grace_created).unwrap()),
        ],
    )
    .await;

    let database = test_support::unique("replica").replace('-', "_");
    let mongo_uri = mongo::shared_uri();
    let _replicator = RunningService::replicator(
        &env.bootstrap,
        &prefix,
        &mongo_uri,
        &database,
        &[
            ("REPLICATOR_TOPICS", "customers".to_owned()),
            ("SCHEMA_REGISTRY_URL", registry.url.clone()),
        ],
    )
    .await;

    let customers = mongo::client(&mongo_uri)
        .await
        .database(&database)
        .collection::<Document>("customers");
    let docs: Vec<Document> =
        test_support::eventually("both customers replicated", WAIT, || async {
            let docs: Vec<Document> = customers
                .find(doc! {})
                .sort(doc! {"name": 1})
                .await
                .ok()?
                .try_collect()
                .await
                .ok()?;
            (docs.len() == 2 && docs.iter().any(|d| d.get_i64("_version") == Ok(2))).then_some(docs)
        })
        .await;
    let names: Vec<&str> = docs.iter().map(|d| d.get_str("name").unwrap()).collect();
    assert_eq!(names, ["Ada King", "Grace Hopper"]);
    let ada_doc = docs
        .iter()
        .find(|d| d.get_str("_id") == Ok(&ada_v2.id.to_string()))
        .unwrap();
    assert_eq!(ada_doc.get_i64("_version").unwrap(), 2);
    assert_eq!(ada_doc.get_str("email").unwrap(), ada_v2.email);

    let dead = topic::read_raw(&env.bootstrap, &format!("{topic}.dlq"), 1, WAIT).await;
    assert_eq!(dead[0].payload, unknown_id);
    assert!(
        dead[0].header("dlq.error").contains("Avro"),
        "{}",
        dead[0].header("dlq.error")
    );
}
