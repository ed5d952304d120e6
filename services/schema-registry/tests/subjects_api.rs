//! Registering, reading and looking up schemas, endpoint by endpoint, as Confluent documents
//! them: status codes, bodies and error codes.

mod common;

use common::{spawn_app, user_with, USER_V1, USER_V2};
use serde_json::{json, Value};

#[tokio::test]
async fn a_registered_schema_reads_back_by_subject_version_and_global_id() {
    let app = spawn_app().await;
    let body = app
        .post(
            "/subjects/users-value/versions",
            json!({"schema": USER_V1, "schemaType": "AVRO"}),
        )
        .await
        .ok();
    assert_eq!(body, json!({"id": 1}));

    assert_eq!(app.get("/subjects").await.ok(), json!(["users-value"]));
    assert_eq!(app.versions("users-value").await, json!([1]));
    let expected = json!({"subject": "users-value", "id": 1, "version": 1, "schema": USER_V1});
    for version in ["1", "latest", "-1"] {
        let path = format!("/subjects/users-value/versions/{version}");
        assert_eq!(app.get(&path).await.ok(), expected, "{version}");
        let raw = app.get(&format!("{path}/schema")).await.ok();
        assert_eq!(raw, serde_json::from_str::<Value>(USER_V1).unwrap());
    }

    assert_eq!(
        app.get("/schemas/ids/1").await.ok(),
        json!({"schema": USER_V1})
    );
    assert_eq!(
        app.get("/schemas/ids/1/schema").await.ok(),
        serde_json::from_str::<Value>(USER_V1).unwrap()
    );
    assert_eq!(
        app.get("/schemas/ids/1/versions").await.ok(),
        json!([{"subject": "users-value", "version": 1}])
    );
    assert_eq!(
        app.get("/schemas/ids/1/subjects").await.ok(),
        json!(["users-value"])
    );
    assert_eq!(app.get("/schemas/types").await.ok(), json!(["AVRO"]));
}

#[tokio::test]
async fn registering_the_same_schema_again_is_idempotent_whatever_its_layout() {
    let app = spawn_app().await;
    let id = app.register("users-value", USER_V1).await;
    assert_eq!(app.register("users-value", USER_V1).await, id);

    let pretty =
        serde_json::to_string_pretty(&serde_json::from_str::<Value>(USER_V1).unwrap()).unwrap();
    let reordered = r#"{ "fields" : [ { "type" : "long", "name" : "id" },
                                      { "type" : "string", "name" : "name" } ],
                         "namespace" : "example.users", "name" : "User", "type" : "record" }"#;
    for variant in [pretty.as_str(), reordered] {
        assert_eq!(app.register("users-value", variant).await, id, "{variant}");
    }
    assert_eq!(app.versions("users-value").await, json!([1]));
    assert_eq!(
        app.get("/subjects/users-value/versions/1").await.ok()["schema"],
        USER_V1,
        "the text of the first registration is kept"
    );
}

#[tokio::test]
async fn the_same_schema_under_two_subjects_has_one_id() {
    let app = spawn_app().await;
    let a = app.register("orders-value", USER_V1).await;
    let b = app
        .register("customers-value", &format!(" {USER_V1}\n"))
        .await;
    assert_eq!(a, b);
    for subject in ["orders-value", "customers-value"] {
        let version = app
            .get(&format!("/subjects/{subject}/versions/latest"))
            .await
            .ok();
        assert_eq!(version["id"], a);
        assert_eq!(version["version"], 1);
    }
    assert_eq!(
        app.get(&format!("/schemas/ids/{a}/versions")).await.ok(),
        json!([
            {"subject": "customers-value", "version": 1},
            {"subject": "orders-value", "version": 1}
        ])
    );
    assert_eq!(
        app.get("/subjects").await.ok(),
        json!(["customers-value", "orders-value"])
    );
    assert_eq!(
        app.get("/subjects?subjectPrefix=orders").await.ok(),
        json!(["orders-value"])
    );
}

#[tokio::test]
async fn a_new_schema_becomes_the_next_version_with_a_new_id() {
    let app = spawn_app().await;
    let v1 = app.register("users-value", USER_V1).await;
    let v2 = app.register("users-value", USER_V2).await;
    assert_ne!(v1, v2);
    assert_eq!(app.versions("users-value").await, json!([1, 2]));
    let latest = app.get("/subjects/users-value/versions/latest").await.ok();
    assert_eq!(
        latest,
        json!({"subject": "users-value", "id": v2, "version": 2, "schema": USER_V2})
    );
    // Registering an older schema that the subject still has returns its id, no new version.
    assert_eq!(app.register("users-value", USER_V1).await, v1);
    assert_eq!(app.versions("users-value").await, json!([1, 2]));
}

#[tokio::test]
async fn lookup_finds_the_version_that_holds_a_schema() {
    let app = spawn_app().await;
    let id = app.register("users-value", USER_V1).await;
    app.register("users-value", USER_V2).await;

    let reformatted = format!("\n{USER_V1}  ");
    let found = app
        .post("/subjects/users-value", json!({"schema": reformatted}))
        .await
        .ok();
    assert_eq!(
        found,
        json!({"subject": "users-value", "id": id, "version": 1, "schema": USER_V1})
    );

    let unknown = user_with(r#"{"name":"id","type":"int"}"#);
    let message = app
        .post("/subjects/users-value", json!({"schema": unknown}))
        .await
        .error(40403);
    assert_eq!(message, "Schema not found");
    // Known to the registry, but not under this subject.
    app.register("others-value", &unknown).await;
    app.post("/subjects/users-value", json!({"schema": unknown}))
        .await
        .error(40403);

    let message = app
        .post("/subjects/nobody-value", json!({"schema": USER_V1}))
        .await
        .error(40401);
    assert_eq!(message, "Subject 'nobody-value' not found.");
    app.post(
        "/subjects/users-value",
        json!({"schema": "{\"type\": \"nope\"}"}),
    )
    .await
    .error(42201);
}

#[tokio::test]
async fn unknown_subjects_versions_and_ids_are_404_with_confluent_codes() {
    let app = spawn_app().await;
    assert_eq!(app.get("/subjects").await.ok(), json!([]));
    app.get("/subjects/nobody/versions").await.error(40401);
    app.get("/subjects/nobody/versions/1").await.error(40401);
    app.get("/subjects/nobody/versions/latest/schema")
        .await
        .error(40401);

    app.register("users-value", USER_V1).await;
    let message = app
        .get("/subjects/users-value/versions/9")
        .await
        .error(40402);
    assert_eq!(message, "Version 9 not found.");
    app.get("/subjects/users-value/versions/9/schema")
        .await
        .error(40402);

    let message = app.get("/schemas/ids/999").await.error(40403);
    assert_eq!(message, "Schema 999 not found");
    app.get("/schemas/ids/999/schema").await.error(40403);
    app.get("/schemas/ids/999/versions").await.error(40403);
    app.get("/schemas/ids/999/subjects").await.error(40403);
}

#[tokio::test]
async fn versions_that_are_not_positive_numbers_or_latest_are_42202() {
    let app = spawn_app().await;
    app.register("users-value", USER_V1).await;
    for version in ["0", "-2", "abc", "1.5", "2147483648"] {
        let message = app
            .get(&format!("/subjects/users-value/versions/{version}"))
            .await
            .error(42202);
        assert!(message.contains(version), "{message}");
        app.delete(&format!("/subjects/users-value/versions/{version}"))
            .await
            .error(42202);
        app.post(
            &format!("/compatibility/subjects/users-value/versions/{version}"),
            json!({"schema": USER_V2}),
        )
        .await
        .error(42202);
    }
    assert_eq!(app.versions("users-value").await, json!([1]));
}

#[tokio::test]
async fn invalid_schemas_are_42201_and_register_nothing() {
    let app = spawn_app().await;
    for body in [
        json!({"schema": "{not json"}),
        json!({"schema": "{\"type\": \"record\", \"name\": \"NoFields\"}"}),
        json!({"schema": "{\"type\": \"nonsense\"}"}),
        json!({"schema": ""}),
        json!({}),
        json!({"schema": "\"string\"", "schemaType": "PROTOBUF"}),
        json!({"schema": USER_V1, "references": [{"name": "x", "subject": "y", "version": 1}]}),
    ] {
        app.post("/subjects/users-value/versions", body.clone())
            .await
            .error(42201);
    }
    assert_eq!(app.get("/subjects").await.ok(), json!([]));
}

#[tokio::test]
async fn primitive_and_large_schemas_register() {
    let app = spawn_app().await;
    app.register("key", "\"string\"").await;
    assert_eq!(
        app.get("/subjects/key/versions/1/schema").await.ok(),
        json!("string")
    );

    // Well past the 64 KiB the platform's other APIs accept.
    let fields: Vec<String> = (0..3000)
        .map(|i| format!(r#"{{"name":"field_{i:04}","type":"string","doc":"column {i}"}}"#))
        .collect();
    let wide = user_with(&fields.join(","));
    assert!(wide.len() > 128 * 1024);
    let id = app.register("wide-value", &wide).await;
    assert_eq!(
        app.get(&format!("/schemas/ids/{id}")).await.ok()["schema"],
        wide
    );
}

#[tokio::test]
async fn concurrent_registrations_take_distinct_versions_and_share_ids() {
    let app = spawn_app().await;
    app.set_level(None, "NONE").await;
    let schemas: Vec<String> = (0..8)
        .map(|i| user_with(&format!(r#"{{"name":"f{i}","type":"long"}}"#)))
        .collect();
    // Eight different schemas into one subject, and each of them into a second subject too,
    // all at once.
    let registrations = schemas.iter().flat_map(|schema| {
        [
            app.try_register("busy-value", schema),
            app.try_register("other-value", schema),
        ]
    });
    let replies = futures::future::join_all(registrations).await;
    let ids: Vec<i64> = replies
        .into_iter()
        .map(|r| r.ok()["id"].as_i64().unwrap())
        .collect();
    for pair in ids.chunks(2) {
        assert_eq!(pair[0], pair[1], "one id per schema, whichever subject");
    }
    let mut distinct = ids.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 8);
    assert_eq!(
        app.versions("busy-value").await,
        json!([1, 2, 3, 4, 5, 6, 7, 8])
    );
}
