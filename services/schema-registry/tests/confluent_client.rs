//! The platform's Avro client, `schema_registry_converter`, against this registry: it
//! registers the schema, frames values in Confluent's wire format (magic byte 0, 4-byte
//! big-endian schema id, Avro body) and decodes them back by id.

mod common;

use apache_avro::types::Value;
use common::{spawn_app, TestApp, USER_V1, USER_V2};
use schema_registry_converter::{
    async_impl::{
        avro::{AvroDecoder, AvroEncoder},
        schema_registry::SrSettings,
    },
    schema_registry_common::{SchemaType, SubjectNameStrategy, SuppliedSchema},
};

fn settings(app: &TestApp) -> SrSettings {
    SrSettings::new_builder(app.base.clone())
        .no_proxy()
        .set_token_authorization(&test_support::admin_token())
        .build()
        .unwrap()
}

fn strategy(topic: &str, schema: &str) -> SubjectNameStrategy {
    SubjectNameStrategy::TopicNameStrategyWithSchema(
        topic.to_owned(),
        false,
        SuppliedSchema::new(
            Some("example.users.User".to_owned()),
            SchemaType::Avro,
            schema.to_owned(),
        ),
    )
}

/// Splits a Confluent-framed message into (schema id, Avro body).
fn wire(bytes: &[u8]) -> (u32, &[u8]) {
    assert!(bytes.len() > 5, "{bytes:?}");
    assert_eq!(bytes[0], 0, "magic byte");
    (
        u32::from_be_bytes(bytes[1..5].try_into().unwrap()),
        &bytes[5..],
    )
}

#[tokio::test]
async fn the_converter_registers_encodes_and_decodes_through_the_registry() {
    let app = spawn_app().await;
    let encoder = AvroEncoder::new(settings(&app));
    let ada = vec![
        ("id", Value::Long(42)),
        ("name", Value::String("Ada".to_owned())),
    ];
    let bytes = encoder
        .encode(ada.clone(), strategy("users", USER_V1))
        .await
        .expect("encoding registers the schema");

    let (id, body) = wire(&bytes);
    let registered = app.get("/subjects/users-value/versions/latest").await.ok();
    assert_eq!(registered["id"], id);
    assert_eq!(registered["version"], 1);
    assert_eq!(registered["schema"], USER_V1);
    // Avro binary: zig-zag long 42 = 84, then the string's length 3 (zig-zag 6) and bytes.
    assert_eq!(body, [84, 6, b'A', b'd', b'a']);

    let decoded = AvroDecoder::new(settings(&app))
        .decode(Some(&bytes))
        .await
        .expect("decoding fetches the schema by id");
    assert_eq!(
        decoded.value,
        Value::Record(
            ada.into_iter()
                .map(|(field, value)| (field.to_owned(), value))
                .collect()
        )
    );
    assert_eq!(
        decoded.name.map(|n| n.fullname(None)).as_deref(),
        Some("example.users.User")
    );

    // A second producer with the same schema, laid out differently, gets the same id.
    let reformatted =
        serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(USER_V1).unwrap())
            .unwrap();
    let again = AvroEncoder::new(settings(&app))
        .encode(
            vec![("id", Value::Long(1)), ("name", Value::String("B".into()))],
            strategy("users", &reformatted),
        )
        .await
        .unwrap();
    assert_eq!(wire(&again).0, id);
    assert_eq!(app.versions("users-value").await, serde_json::json!([1]));
}

#[tokio::test]
async fn an_evolved_schema_gets_a_new_id_and_old_messages_still_decode() {
    let app = spawn_app().await;
    let v1_bytes = AvroEncoder::new(settings(&app))
        .encode(
            vec![
                ("id", Value::Long(1)),
                ("name", Value::String("Ada".into())),
            ],
            strategy("users", USER_V1),
        )
        .await
        .unwrap();
    let v2_bytes = AvroEncoder::new(settings(&app))
        .encode(
            vec![
                ("id", Value::Long(2)),
                ("name", Value::String("Grace".into())),
                (
                    "email",
                    Value::Union(1, Box::new(Value::String("g@example.com".into()))),
                ),
            ],
            strategy("users", USER_V2),
        )
        .await
        .unwrap();
    assert_ne!(wire(&v1_bytes).0, wire(&v2_bytes).0);
    assert_eq!(app.versions("users-value").await, serde_json::json!([1, 2]));

    // Even after the subject is soft-deleted, messages decode by id.
    app.delete("/subjects/users-value").await.ok();
    let decoder = AvroDecoder::new(settings(&app));
    for bytes in [&v1_bytes, &v2_bytes] {
        let decoded = decoder.decode(Some(bytes)).await.unwrap();
        assert!(matches!(decoded.value, Value::Record(_)), "{decoded:?}");
    }

    // An incompatible schema is refused, and the client reports it.
    app.put(
        "/config/users-value",
        serde_json::json!({"compatibility": "BACKWARD"}),
    )
    .await
    .ok();
    app.register("users-value", USER_V1).await;
    let breaking = USER_V1.replace(r#""type":"long""#, r#""type":"string""#);
    let refused = AvroEncoder::new(settings(&app))
        .encode(
            vec![
                ("id", Value::String("x".into())),
                ("name", Value::String("y".into())),
            ],
            strategy("users", &breaking),
        )
        .await;
    assert!(refused.is_err(), "{refused:?}");
}
