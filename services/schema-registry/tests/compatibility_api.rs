//! Schema evolution under each compatibility level, the compatibility test endpoint, and the
//! global and per-subject configuration.

mod common;

use common::{spawn_app, user_with, TestApp, USER_V1, USER_V2};
use serde_json::json;

const ID: &str = r#"{"name":"id","type":"long"}"#;
const NAME: &str = r#"{"name":"name","type":"string"}"#;

/// v1 plus `email`, a required string (no default).
fn with_required_email() -> String {
    user_with(&format!(
        r#"{ID},{NAME},{{"name":"email","type":"string"}}"#
    ))
}

/// v1 with `id` turned into a string.
fn with_string_id() -> String {
    user_with(&format!(r#"{{"name":"id","type":"string"}},{NAME}"#))
}

/// v1 without `name` (which had no default).
fn without_name() -> String {
    user_with(ID)
}

async fn versions_after(app: &TestApp, subject: &str) -> serde_json::Value {
    app.versions(subject).await
}

#[tokio::test]
async fn backward_is_the_default_and_accepts_an_optional_field_with_a_default() {
    let app = spawn_app().await;
    assert_eq!(
        app.get("/config").await.ok(),
        json!({"compatibilityLevel": "BACKWARD"})
    );
    app.register("users-value", USER_V1).await;
    app.register("users-value", USER_V2).await;
    // int → long is a promotion Avro resolves.
    let int_id = user_with(&format!(r#"{{"name":"id","type":"int"}},{NAME}"#));
    app.register("counters-value", &int_id).await;
    app.register("counters-value", USER_V1).await;
    assert_eq!(versions_after(&app, "users-value").await, json!([1, 2]));
    assert_eq!(versions_after(&app, "counters-value").await, json!([1, 2]));
}

#[tokio::test]
async fn backward_rejects_a_new_required_field_or_a_changed_type_with_409() {
    let app = spawn_app().await;
    app.register("users-value", USER_V1).await;
    for breaking in [with_required_email(), with_string_id()] {
        let reply = app.try_register("users-value", &breaking).await;
        let message = reply.error(409);
        assert!(
            message.starts_with("Schema being registered is incompatible with an earlier schema for subject \"users-value\""),
            "{message}"
        );
    }
    let message = app
        .try_register("users-value", &with_required_email())
        .await
        .error(409);
    assert!(message.contains("email"), "names the field: {message}");
    assert_eq!(versions_after(&app, "users-value").await, json!([1]));
    assert_eq!(app.get("/schemas/ids/2").await.status, 404, "no id minted");
}

#[tokio::test]
async fn removing_a_required_field_is_backward_but_not_forward_compatible() {
    // New readers ignore a field old data still has (BACKWARD); old readers cannot do
    // without it (FORWARD).
    let app = spawn_app().await;
    app.set_level(Some("fwd-value"), "FORWARD").await;
    app.set_level(Some("full-value"), "FULL").await;
    for subject in ["back-value", "fwd-value", "full-value"] {
        app.register(subject, USER_V1).await;
    }
    app.register("back-value", &without_name()).await;
    for subject in ["fwd-value", "full-value"] {
        app.try_register(subject, &without_name()).await.error(409);
    }
    // The other way round: a required field added is FORWARD but not BACKWARD compatible.
    app.register("fwd-value", &with_required_email()).await;
    app.try_register("full-value", &with_required_email())
        .await
        .error(409);
    // An optional field with a default suits every level.
    app.register("full-value", USER_V2).await;
}

#[tokio::test]
async fn none_accepts_any_change() {
    let app = spawn_app().await;
    app.set_level(Some("users-value"), "NONE").await;
    app.register("users-value", USER_V1).await;
    app.register("users-value", &with_string_id()).await;
    app.register("users-value", &with_required_email()).await;
    app.register("users-value", "\"string\"").await;
    assert_eq!(
        versions_after(&app, "users-value").await,
        json!([1, 2, 3, 4])
    );
}

#[tokio::test]
async fn transitive_levels_check_every_version_others_only_the_latest() {
    // v1 has no email; v2 adds one with a default; v3 requires it. v3 reads v2's data but
    // not v1's.
    let v2 = user_with(&format!(
        r#"{ID},{NAME},{{"name":"email","type":"string","default":""}}"#
    ));
    let v3 = with_required_email();
    let app = spawn_app().await;
    app.set_level(Some("transitive-value"), "BACKWARD_TRANSITIVE")
        .await;
    for subject in ["latest-value", "transitive-value"] {
        app.register(subject, USER_V1).await;
        app.register(subject, &v2).await;
    }
    app.register("latest-value", &v3).await;
    let message = app.try_register("transitive-value", &v3).await.error(409);
    assert!(message.contains("version 1"), "{message}");
    assert_eq!(
        versions_after(&app, "transitive-value").await,
        json!([1, 2])
    );

    // Soft-deleted versions no longer count.
    app.delete("/subjects/transitive-value/versions/1")
        .await
        .ok();
    app.register("transitive-value", &v3).await;
}

#[tokio::test]
async fn the_compatibility_endpoint_tests_without_registering() {
    let app = spawn_app().await;
    app.register("users-value", USER_V1).await;

    let path = "/compatibility/subjects/users-value/versions/latest";
    assert_eq!(
        app.post(path, json!({"schema": USER_V2})).await.ok(),
        json!({"is_compatible": true})
    );
    assert_eq!(
        app.post(path, json!({"schema": with_string_id()}))
            .await
            .ok(),
        json!({"is_compatible": false})
    );
    let verbose = app
        .post(
            &format!("{path}?verbose=true"),
            json!({"schema": with_string_id()}),
        )
        .await
        .ok();
    assert_eq!(verbose["is_compatible"], false);
    let messages = verbose["messages"].as_array().unwrap();
    assert!(!messages.is_empty() && messages[0].as_str().unwrap().contains("id"));
    assert_eq!(
        app.post(&format!("{path}?verbose=true"), json!({"schema": USER_V2}))
            .await
            .ok(),
        json!({"is_compatible": true, "messages": []})
    );
    assert_eq!(
        app.post(
            "/compatibility/subjects/users-value/versions/1",
            json!({"schema": with_required_email()})
        )
        .await
        .ok(),
        json!({"is_compatible": false})
    );
    assert_eq!(
        app.post(
            "/compatibility/subjects/users-value/versions",
            json!({"schema": USER_V2})
        )
        .await
        .ok(),
        json!({"is_compatible": true})
    );

    app.post(
        "/compatibility/subjects/users-value/versions/7",
        json!({"schema": USER_V2}),
    )
    .await
    .error(40402);
    app.post(
        "/compatibility/subjects/nobody/versions/latest",
        json!({"schema": USER_V2}),
    )
    .await
    .error(40401);
    app.post(path, json!({"schema": "{\"type\":\"wrong\"}"}))
        .await
        .error(42201);

    assert_eq!(versions_after(&app, "users-value").await, json!([1]));
    assert_eq!(app.get("/subjects").await.ok(), json!(["users-value"]));
}

#[tokio::test]
async fn global_and_subject_levels_are_read_set_and_deleted_like_confluent() {
    let app = spawn_app().await;
    app.set_level(None, "FULL").await;
    assert_eq!(
        app.get("/config").await.ok(),
        json!({"compatibilityLevel": "FULL"})
    );

    let message = app.get("/config/users-value").await.error(40408);
    assert_eq!(
        message,
        "Subject 'users-value' does not have subject-level compatibility configured"
    );
    assert_eq!(
        app.get("/config/users-value?defaultToGlobal=true")
            .await
            .ok(),
        json!({"compatibilityLevel": "FULL"})
    );

    // The subject need not exist; level names are case-insensitive.
    assert_eq!(
        app.put("/config/users-value", json!({"compatibility": "none"}))
            .await
            .ok(),
        json!({"compatibility": "NONE"})
    );
    assert_eq!(
        app.get("/config/users-value").await.ok(),
        json!({"compatibilityLevel": "NONE"})
    );

    for path in ["/config", "/config/users-value"] {
        for body in [
            json!({"compatibility": "SIDEWAYS"}),
            json!({}),
            json!({"compatibility": ""}),
        ] {
            app.put(path, body).await.error(42203);
        }
    }
    assert_eq!(
        app.get("/config/users-value").await.ok(),
        json!({"compatibilityLevel": "NONE"})
    );

    assert_eq!(
        app.delete("/config/users-value").await.ok(),
        json!({"compatibilityLevel": "NONE"})
    );
    app.get("/config/users-value").await.error(40408);
    app.delete("/config/users-value").await.error(40401);

    assert_eq!(
        app.delete("/config").await.ok(),
        json!({"compatibilityLevel": "FULL"})
    );
    assert_eq!(
        app.get("/config").await.ok(),
        json!({"compatibilityLevel": "BACKWARD"})
    );
}

#[tokio::test]
async fn a_subject_level_overrides_the_global_one_both_ways() {
    let app = spawn_app().await;
    app.set_level(None, "NONE").await;
    app.set_level(Some("strict-value"), "BACKWARD").await;
    for subject in ["strict-value", "loose-value"] {
        app.register(subject, USER_V1).await;
    }
    app.try_register("strict-value", &with_string_id())
        .await
        .error(409);
    app.register("loose-value", &with_string_id()).await;

    app.set_level(None, "FULL_TRANSITIVE").await;
    app.set_level(Some("strict-value"), "NONE").await;
    app.register("strict-value", &with_string_id()).await;
    app.try_register("loose-value", &with_required_email())
        .await
        .error(409);

    // Removing the override puts the subject under the global level again.
    app.delete("/config/strict-value").await.ok();
    app.try_register("strict-value", "\"string\"")
        .await
        .error(409);
}
