//! Soft and permanent deletion of subjects and versions, as Confluent does them: a soft
//! delete hides, a permanent one (only after a soft one) removes, unless the subject's topic
//! still holds events that may need the schema to be read.

mod common;

use common::{spawn_app, user_with, USER_V1, USER_V2};
use serde_json::json;

#[tokio::test]
async fn a_soft_deleted_subject_is_hidden_until_permanently_deleted() {
    let app = spawn_app().await;
    let v1 = app.register("users-value", USER_V1).await;
    app.register("users-value", USER_V2).await;

    assert_eq!(
        app.delete("/subjects/users-value").await.ok(),
        json!([1, 2])
    );
    assert_eq!(app.get("/subjects").await.ok(), json!([]));
    assert_eq!(
        app.get("/subjects?deleted=true").await.ok(),
        json!(["users-value"])
    );
    app.get("/subjects/users-value/versions").await.error(40401);
    app.get("/subjects/users-value/versions/latest")
        .await
        .error(40401);
    assert_eq!(
        app.get("/subjects/users-value/versions?deleted=true")
            .await
            .ok(),
        json!([1, 2])
    );
    assert_eq!(
        app.get("/subjects/users-value/versions/1?deleted=true")
            .await
            .ok()["id"],
        v1
    );
    app.post("/subjects/users-value", json!({"schema": USER_V1}))
        .await
        .error(40401);
    assert_eq!(
        app.post(
            "/subjects/users-value?deleted=true",
            json!({"schema": USER_V1})
        )
        .await
        .ok()["version"],
        1
    );
    // Consumers still decode old messages by id.
    assert_eq!(
        app.get(&format!("/schemas/ids/{v1}")).await.ok(),
        json!({"schema": USER_V1})
    );
    assert_eq!(
        app.get(&format!("/schemas/ids/{v1}/versions")).await.ok(),
        json!([])
    );
    assert_eq!(
        app.get(&format!("/schemas/ids/{v1}/versions?deleted=true"))
            .await
            .ok(),
        json!([{"subject": "users-value", "version": 1}])
    );

    let message = app.delete("/subjects/users-value").await.error(40404);
    assert_eq!(
        message,
        "Subject 'users-value' was soft deleted.Set permanent=true to delete permanently"
    );

    assert_eq!(
        app.delete("/subjects/users-value?permanent=true")
            .await
            .ok(),
        json!([1, 2])
    );
    assert_eq!(app.get("/subjects?deleted=true").await.ok(), json!([]));
    app.get(&format!("/schemas/ids/{v1}")).await.error(40403);
    app.delete("/subjects/users-value?permanent=true")
        .await
        .error(40401);
    app.delete("/subjects/users-value").await.error(40401);
}

#[tokio::test]
async fn permanent_deletion_needs_a_soft_deletion_first() {
    let app = spawn_app().await;
    app.register("users-value", USER_V1).await;
    let message = app
        .delete("/subjects/users-value?permanent=true")
        .await
        .error(40405);
    assert_eq!(
        message,
        "Subject 'users-value' was not deleted first before being permanently deleted"
    );
    app.delete("/subjects/users-value/versions/1?permanent=true")
        .await
        .error(40407);
    assert_eq!(app.versions("users-value").await, json!([1]));
}

#[tokio::test]
async fn versions_are_deleted_one_by_one() {
    let app = spawn_app().await;
    app.set_level(Some("users-value"), "NONE").await;
    let schemas: Vec<String> = (1..=3)
        .map(|i| user_with(&format!(r#"{{"name":"f{i}","type":"long"}}"#)))
        .collect();
    for schema in &schemas {
        app.register("users-value", schema).await;
    }

    assert_eq!(
        app.delete("/subjects/users-value/versions/2").await.ok(),
        json!(2)
    );
    assert_eq!(app.versions("users-value").await, json!([1, 3]));
    app.get("/subjects/users-value/versions/2")
        .await
        .error(40402);
    let message = app
        .delete("/subjects/users-value/versions/2")
        .await
        .error(40406);
    assert_eq!(
        message,
        "Subject 'users-value' Version 2 was soft deleted.Set permanent=true to delete permanently"
    );
    assert_eq!(
        app.delete("/subjects/users-value/versions/2?permanent=true")
            .await
            .ok(),
        json!(2)
    );
    assert_eq!(
        app.get("/subjects/users-value/versions?deleted=true")
            .await
            .ok(),
        json!([1, 3])
    );

    assert_eq!(
        app.delete("/subjects/users-value/versions/latest")
            .await
            .ok(),
        json!(3)
    );
    assert_eq!(app.versions("users-value").await, json!([1]));
    assert_eq!(
        app.get("/subjects/users-value/versions/latest").await.ok()["version"],
        1
    );

    app.delete("/subjects/users-value/versions/9")
        .await
        .error(40402);
    app.delete("/subjects/nobody/versions/1").await.error(40401);
}

#[tokio::test]
async fn a_schema_registered_again_after_deletion_keeps_its_id_under_a_new_version() {
    let app = spawn_app().await;
    let id = app.register("users-value", USER_V1).await;
    app.delete("/subjects/users-value").await.ok();
    assert_eq!(app.register("users-value", USER_V1).await, id);
    assert_eq!(app.versions("users-value").await, json!([2]));

    // After a permanent delete the subject starts again at version 1, with the same id.
    app.delete("/subjects/users-value").await.ok();
    app.delete("/subjects/users-value?permanent=true")
        .await
        .ok();
    assert_eq!(app.register("users-value", USER_V1).await, id);
    assert_eq!(app.versions("users-value").await, json!([1]));
}

#[tokio::test]
async fn a_permanent_subject_delete_drops_its_compatibility_level() {
    let app = spawn_app().await;
    app.set_level(Some("users-value"), "NONE").await;
    app.register("users-value", USER_V1).await;
    app.delete("/subjects/users-value").await.ok();
    assert_eq!(
        app.get("/config/users-value").await.ok(),
        json!({"compatibilityLevel": "NONE"}),
        "a soft delete keeps it"
    );
    app.delete("/subjects/users-value?permanent=true")
        .await
        .ok();
    app.get("/config/users-value").await.error(40408);
}

#[tokio::test]
async fn a_schema_whose_topic_still_holds_events_is_not_permanently_deleted() {
    let app = spawn_app().await;
    let topic = test_support::unique("in-use");
    let subject = format!("{topic}-value");
    let id = app.register(&subject, USER_V1).await;
    test_support::topic::produce(&app.env.bootstrap, &topic, &[("k".into(), b"v".to_vec())]).await;
    app.delete(&format!("/subjects/{subject}")).await.ok();

    for path in [
        format!("/subjects/{subject}?permanent=true"),
        format!("/subjects/{subject}/versions/1?permanent=true"),
    ] {
        let message = app.delete(&path).await.error(42206);
        assert!(
            message.contains(&topic) && message.contains("1 record"),
            "{message}"
        );
    }
    // Nothing was deleted: consumers still decode the topic's events by id.
    assert_eq!(
        app.get(&format!("/schemas/ids/{id}")).await.ok(),
        json!({"schema": USER_V1})
    );

    // Once the topic is gone, so is the reason to keep the schema.
    test_support::topic::delete_topic(&app.env.bootstrap, &topic).await;
    let path = format!("/subjects/{subject}?permanent=true");
    test_support::eventually(
        "the permanent delete to go through",
        std::time::Duration::from_secs(30),
        || async {
            let reply = app.delete(&path).await;
            (reply.status == reqwest::StatusCode::OK).then_some(reply.body)
        },
    )
    .await;
    app.get(&format!("/schemas/ids/{id}")).await.error(40403);
}

#[tokio::test]
async fn an_id_another_subject_still_names_is_deleted_from_one_subject_whatever_its_topic_holds() {
    let app = spawn_app().await;
    let topic = test_support::unique("shared");
    let subject = format!("{topic}-value");
    let id = app.register(&subject, USER_V1).await;
    assert_eq!(app.register("elsewhere-value", USER_V1).await, id);
    test_support::topic::produce(&app.env.bootstrap, &topic, &[("k".into(), b"v".to_vec())]).await;
    app.delete(&format!("/subjects/{subject}")).await.ok();
    assert_eq!(
        app.delete(&format!("/subjects/{subject}?permanent=true"))
            .await
            .ok(),
        json!([1])
    );
    app.get(&format!("/schemas/ids/{id}")).await.ok();
}
