//! Snapshots, as every resource offers them: `POST <collection>/snapshots` emits one `r` event
//! per live row with its current image and version, reports its progress, and refuses a bad
//! request before it starts anything.

use super::{create, Resource};
use crate::api::{client_with_token, id_of, problem, ApiApp};
use reqwest::{header, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;
use web::auth::Role;

const WAIT: Duration = Duration::from_secs(180);

/// Starts a snapshot of `resource` with `body`, asserting 202, and returns where it is watched.
pub async fn start_snapshot(app: &ApiApp, resource: &Resource, body: &Value) -> String {
    let response = app
        .post(&format!("{}/snapshots", resource.collection), body)
        .await;
    assert_eq!(
        response.status(),
        StatusCode::ACCEPTED,
        "{}",
        response.text().await.unwrap_or_default()
    );
    let location = response.headers()[header::LOCATION]
        .to_str()
        .expect("a text Location")
        .to_owned();
    let snapshot: Value = response.json().await.expect("the snapshot");
    assert_eq!(
        location,
        format!("{}/snapshots/{}", resource.collection, id_of(&snapshot))
    );
    assert_eq!(snapshot["aggregate"], resource.kind);
    location
}

/// Polls the snapshot at `location` until it is `done`, and returns it.
pub async fn snapshot_done(app: &ApiApp, location: &str) -> Value {
    crate::eventually("the snapshot to finish", WAIT, || async {
        let snapshot = app.get_json(location).await;
        (snapshot["state"] == "done").then_some(snapshot)
    })
    .await
}

pub async fn a_snapshot_emits_one_read_event_per_live_row_with_its_current_image(
    app: &ApiApp,
    resource: &Resource,
) {
    let rows: Vec<Value> =
        futures::future::join_all((0..3).map(|n| create(app, resource, n))).await;
    let mut live: Vec<Value> = rows.clone();
    if let Some(change) = &resource.change {
        let patched = app
            .client
            .patch(app.url(&resource.item(&id_of(&rows[0]))))
            .json(&(change.patch)())
            .send()
            .await
            .unwrap();
        assert_eq!(patched.status(), StatusCode::OK);
        live[0] = patched.json().await.unwrap();
        let deleted = app
            .client
            .delete(app.url(&resource.item(&id_of(&rows[1]))))
            .send()
            .await
            .unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        live.remove(1);
    }
    let writes = app.outbox_rows().await;

    // One row per chunk: the snapshot takes as many transactions as there are live rows.
    let location = start_snapshot(app, resource, &json!({"chunk_size": 1})).await;
    let snapshot = snapshot_done(app, &location).await;
    assert_eq!(snapshot["rows_total"], live.len());
    assert_eq!(snapshot["rows_done"], live.len());
    assert_eq!(snapshot["chunks_done"], live.len());
    assert!(snapshot["finished_at"].is_string(), "{snapshot}");
    assert_eq!(
        app.outbox_rows().await,
        writes + live.len() as i64,
        "one event per live row, nothing else"
    );
    for row in &rows {
        let id = id_of(row);
        let reads: Vec<_> = app
            .outbox_events(&id)
            .await
            .into_iter()
            .filter(|e| e.op == events::Op::Read)
            .collect();
        match live.iter().find(|l| id_of(l) == id) {
            Some(current) => {
                assert_eq!(reads.len(), 1, "{id}: one `r` event");
                let read = &reads[0];
                assert_eq!(read.event_type, format!("{}.read", resource.kind));
                assert_eq!(read.aggregate_type, resource.kind);
                assert!(read.before.is_none());
                assert_eq!(read.after.as_ref(), Some(current), "the current image");
                assert_eq!(read.version, current["version"].as_i64().unwrap_or(1));
                assert_eq!(read.source.service, resource.service);
            }
            None => assert!(reads.is_empty(), "{id}: a deleted row is not snapshotted"),
        }
    }
    let listed = app
        .get_json(&format!("{}/snapshots", resource.collection))
        .await;
    assert_eq!(listed["items"][0], app.get_json(&location).await);
}

pub async fn snapshot_requests_are_checked_and_a_refused_one_starts_nothing(
    app: &ApiApp,
    resource: &Resource,
) {
    create(app, resource, 0).await;
    let collection = format!("{}/snapshots", resource.collection);
    for (body, field) in [
        (
            json!({"filter": {"no_such_filter": "x"}}),
            "filter.no_such_filter",
        ),
        (json!({"chunk_size": 0}), "chunk_size"),
        (json!({"chunk_size": 10_001}), "chunk_size"),
        (json!({"from_id": "not-a-uuid"}), "from_id"),
    ] {
        let (status, problem) = problem(app.post(&collection, &body).await).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {problem}"
        );
        assert!(
            problem["details"].get(field).is_some(),
            "{body}: names {field}: {problem}"
        );
    }
    let url = app.url(&collection);
    let reader = client_with_token(&crate::token(Role::Reader));
    let (status, _) = problem(reader.post(&url).json(&json!({})).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a reader cannot start one");
    let anonymous = reqwest::Client::new();
    let (status, _) = problem(anonymous.post(&url).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.rows("snapshots").await, 0, "nothing started");
    assert!(app.get_json(&collection).await["items"]
        .as_array()
        .unwrap()
        .is_empty());

    for id in ["0193a1b2-0000-7000-8000-000000000000", "not-a-uuid"] {
        let (status, _) = problem(
            app.client
                .get(app.url(&format!("{collection}/{id}")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{id}");
    }
    // A bodiless POST snapshots everything; a finished one cannot be paused.
    let response = app.client.post(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let location = response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    snapshot_done(app, &location).await;
    let (status, problem) = problem(
        app.client
            .post(app.url(&format!("{location}/pause")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["details"]["state"], "done");
}
