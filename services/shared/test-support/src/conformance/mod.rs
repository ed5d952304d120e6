//! The behaviour every CRUD resource shares, written once and run against each resource
//! (customers, casts, movies, orders) by [`crate::conformance_tests!`]: 404 for a malformed or
//! unknown id on every verb, 412 for a stale `If-Match`, delete then 404 with the row kept as a
//! soft delete, newest-first paging by cursor or offset, 400 naming each bad query parameter,
//! 400/413/415 for bodies, 401/403, docs, health, metrics and request ids, and one
//! self-contained outbox event per write with the right before and after images, and snapshots
//! (one `r` event per live row). Every refused request is shown to write nothing.
//!
//! A resource's own test file keeps only what is particular to it (its fields, its rules).

mod snapshots;

pub use snapshots::*;

use crate::api::{client_with_token, id_of, problem, ApiApp};
use reqwest::{header, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;
use web::auth::{Claims, Role};

/// What the suite needs to know of a resource.
pub struct Resource {
    /// `customer`: the event's `aggregate_type`, and the prefix of its event types.
    pub kind: &'static str,
    /// The service writing it (`source.service` of its events).
    pub service: &'static str,
    /// `/api/v1/customers`.
    pub collection: &'static str,
    /// Where its OpenAPI document (`<docs>/openapi.json`) and Swagger UI (`<docs>/docs/`) are.
    pub docs: &'static str,
    /// The table its rows live in.
    pub table: &'static str,
    /// The counter its writes increment on `/metrics`.
    pub writes_metric: &'static str,
    /// A valid body for `POST`; `n` makes it unique where a field must be.
    pub create: fn(usize) -> Value,
    /// How it changes, if it can (orders cannot).
    pub change: Option<Change>,
}

/// A resource's valid `PUT` body (unique by `n`) and merge patch.
pub struct Change {
    pub replace: fn(usize) -> Value,
    pub patch: fn() -> Value,
}

impl Resource {
    fn item(&self, id: &str) -> String {
        format!("{}/{id}", self.collection)
    }

    fn change(&self) -> &Change {
        self.change
            .as_ref()
            .expect("a check of changes on a resource that has them")
    }
}

/// Row count, outbox count and the sum of versions of `resource`'s table (0 for a resource
/// that never changes, whose rows have no version): any write changes at least one of them.
pub async fn written(app: &ApiApp, resource: &Resource) -> (i64, i64, i64) {
    let versions = match resource.change {
        None => 0,
        Some(_) => {
            let sql = format!(
                "SELECT coalesce(sum(version), 0)::bigint AS n FROM {}",
                resource.table
            );
            crate::count(&app.database_url, &sql).await
        }
    };
    (
        app.rows(resource.table).await,
        app.outbox_rows().await,
        versions,
    )
}

/// Creates one and returns its JSON.
pub async fn create(app: &ApiApp, resource: &Resource, n: usize) -> Value {
    let response = app.post(resource.collection, &(resource.create)(n)).await;
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "{}",
        response.text().await.unwrap_or_default()
    );
    response.json().await.expect("the created resource")
}

pub async fn created_is_201_with_its_location_and_the_resource_it_returns_on_get(
    app: &ApiApp,
    resource: &Resource,
) {
    let response = app.post(resource.collection, &(resource.create)(0)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()[header::LOCATION]
        .to_str()
        .expect("a text Location")
        .to_owned();
    let changes = resource.change.is_some();
    if changes {
        assert_eq!(response.headers()[header::ETAG], "\"1\"");
    }
    let body: Value = response.json().await.expect("the created resource");
    assert_eq!(location, resource.item(&id_of(&body)));
    if changes {
        assert_eq!(body["version"], 1);
    }
    assert!(body["created_at"].is_string());
    assert_eq!(app.get_json(&location).await, body);
}

pub async fn unknown_or_malformed_ids_are_404_on_every_verb(app: &ApiApp, resource: &Resource) {
    for id in ["0193a1b2-0000-7000-8000-000000000000", "not-a-uuid"] {
        let url = app.url(&resource.item(id));
        let (status, body) = problem(app.client.get(&url).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "GET {id}: {body}");
        assert_eq!(body["error"], "not_found");
        assert!(
            body["message"].as_str().unwrap().contains(resource.kind),
            "{body}"
        );
        if let Some(change) = &resource.change {
            let attempts = [
                app.client.put(&url).json(&(change.replace)(0)),
                app.client.patch(&url).json(&(change.patch)()),
                app.client.delete(&url),
            ];
            for attempt in attempts {
                let (status, body) = problem(attempt.send().await.unwrap()).await;
                assert_eq!(status, StatusCode::NOT_FOUND, "{id}: {body}");
            }
        }
    }
    assert_eq!(written(app, resource).await, (0, 0, 0));
}

pub async fn stale_if_match_is_412_and_writes_nothing(app: &ApiApp, resource: &Resource) {
    let change = resource.change();
    let created = create(app, resource, 0).await;
    let url = app.url(&resource.item(&id_of(&created)));
    let before = written(app, resource).await;
    let attempts = [
        app.client
            .put(&url)
            .header(header::IF_MATCH, "\"7\"")
            .json(&(change.replace)(1)),
        app.client
            .patch(&url)
            .header(header::IF_MATCH, "\"7\"")
            .json(&(change.patch)()),
        app.client.delete(&url).header(header::IF_MATCH, "\"7\""),
    ];
    for attempt in attempts {
        let (status, body) = problem(attempt.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{body}");
        assert_eq!(body["error"], "precondition_failed");
    }
    assert_eq!(written(app, resource).await, before);
    assert_eq!(
        app.get_json(&resource.item(&id_of(&created))).await,
        created
    );
}

pub async fn delete_is_204_then_404_everywhere_and_the_row_is_kept_as_a_soft_delete(
    app: &ApiApp,
    resource: &Resource,
) {
    let change = resource.change();
    let created = create(app, resource, 0).await;
    let url = app.url(&resource.item(&id_of(&created)));
    let delete = app.client.delete(&url).header(header::IF_MATCH, "\"1\"");
    assert_eq!(
        delete.send().await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    let after = [
        app.client.get(&url),
        app.client.delete(&url),
        app.client.put(&url).json(&(change.replace)(1)),
        app.client.patch(&url).json(&(change.patch)()),
    ];
    for attempt in after {
        let (status, body) = problem(attempt.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    }
    // create + delete: two events; the row is kept, deleted, at version 2
    assert_eq!(written(app, resource).await, (1, 2, 2));
    let listed = app.listed_ids(resource.collection).await;
    assert!(listed.is_empty(), "{listed:?}");
}

pub async fn listing_is_newest_first_pages_by_cursor_or_offset_and_hides_deleted(
    app: &ApiApp,
    resource: &Resource,
) {
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(id_of(&create(app, resource, n).await));
    }
    if resource.change.is_some() {
        let deleted = ids.remove(2);
        let response = app
            .client
            .delete(app.url(&resource.item(&deleted)))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();

    let mut seen = Vec::new();
    let mut path = format!("{}?limit=2", resource.collection);
    loop {
        let page = app.get_json(&path).await;
        let items = page["items"].as_array().expect("a page has items");
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(id_of));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("{}?limit=2&cursor={cursor}", resource.collection),
            None => break,
        }
    }
    assert_eq!(seen, newest_first);

    let by_offset = app
        .listed_ids(&format!("{}?offset=1&limit=2", resource.collection))
        .await;
    assert_eq!(by_offset, newest_first[1..3]);
}

pub async fn listing_rejects_bad_query_parameters_with_400_naming_them(
    app: &ApiApp,
    resource: &Resource,
) {
    for (query, field) in [
        ("limit=101", "limit"),
        ("limit=0", "limit"),
        ("limit=x", "limit"),
        ("offset=-1", "offset"),
        ("offset=x", "offset"),
        ("cursor=zzz", "cursor"),
        ("cursor=abc&offset=1", "cursor"),
        ("color=red", "color"),
    ] {
        let url = app.url(&format!("{}?{query}", resource.collection));
        let (status, body) = problem(app.client.get(&url).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["error"], "invalid_query", "{query}: {body}");
        assert!(body["details"][field].is_string(), "{query}: {body}");
    }
    let largest = format!("{}?limit=100", resource.collection);
    app.get_json(&largest).await;
}

pub async fn malformed_oversize_and_non_json_bodies_are_refused_and_write_nothing(
    app: &ApiApp,
    resource: &Resource,
) {
    let valid = (resource.create)(0);
    // Cut short after a field the resource knows (an unknown one would be a 422 first).
    let first = valid
        .as_object()
        .and_then(|fields| fields.keys().next())
        .expect("a create body with a field");
    let valid = valid.to_string();
    for body in [
        format!("{{\"{first}\": "),
        "not json".to_owned(),
        String::new(),
        format!("{valid}{valid}"),
    ] {
        let response = app.post_raw_json(resource.collection, &body).await;
        let (status, problem) = problem(response).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body:?}: {problem}");
        assert_eq!(problem["error"], "malformed_json");
    }
    let huge = json!({"padding": "x".repeat(100 * 1024)});
    let (status, body) = problem(app.post(resource.collection, &huge).await).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"], "payload_too_large");
    let response = app
        .client
        .post(app.url(resource.collection))
        .header(header::CONTENT_TYPE, "text/plain")
        .body(valid)
        .send()
        .await
        .unwrap();
    let (status, body) = problem(response).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    assert_eq!(body["error"], "unsupported_media_type");
    assert_eq!(written(app, resource).await, (0, 0, 0));
}

pub async fn docs_health_metrics_and_request_ids_are_served_without_a_token(
    app: &ApiApp,
    resource: &Resource,
) {
    let anonymous = reqwest::Client::new();
    let get = |path: String| {
        let request = anonymous.get(app.url(&path));
        async move { request.send().await.expect("the API answers") }
    };
    let doc: Value = get(format!("{}/openapi.json", resource.docs))
        .await
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [resource.collection.to_owned(), resource.item("{id}")] {
        assert!(doc["paths"][&path].is_object(), "{path} missing: {doc}");
    }
    let ui = get(format!("{}/docs/", resource.docs)).await;
    assert_eq!(ui.status(), StatusCode::OK);
    assert!(
        ui.text().await.unwrap().contains("swagger"),
        "Swagger UI page"
    );

    let live: Value = get("/health/live".into()).await.json().await.unwrap();
    assert_eq!(live["status"], "UP");
    let ready = get("/health/ready".into()).await;
    assert_eq!(ready.status(), StatusCode::OK);

    create(app, resource, 0).await;
    let metrics = get("/metrics".into()).await.text().await.unwrap();
    assert!(metrics.contains(resource.writes_metric), "{metrics}");

    let response = app
        .client
        .get(app.url(resource.collection))
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("x-request-id"));
    let given = app
        .client
        .get(app.url(resource.collection))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(given.headers()["x-request-id"], "trace-me-42");
}

pub async fn reads_need_a_token_and_writes_need_an_admin(app: &ApiApp, resource: &Resource) {
    let existing = create(app, resource, 0).await;
    let one = app.url(&resource.item(&id_of(&existing)));
    let collection = app.url(resource.collection);
    let before = written(app, resource).await;

    let anonymous = reqwest::Client::new();
    for attempt in [
        anonymous.get(&collection),
        anonymous.post(&collection).json(&(resource.create)(1)),
    ] {
        let response = attempt.send().await.unwrap();
        let challenge = response.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(challenge.starts_with("Bearer realm="), "{challenge}");
        let (status, body) = problem(response).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["error"], "unauthorized");
    }

    let reader = client_with_token(&crate::token(Role::Reader));
    for read in [&collection, &one] {
        assert_eq!(
            reader.get(read).send().await.unwrap().status(),
            StatusCode::OK
        );
    }
    let mut writes = vec![reader.post(&collection).json(&(resource.create)(1))];
    if let Some(change) = &resource.change {
        writes.extend([
            reader.put(&one).json(&(change.replace)(1)),
            reader.patch(&one).json(&(change.patch)()),
            reader.delete(&one),
        ]);
    }
    for write in writes {
        let (status, body) = problem(write.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["error"], "forbidden");
    }

    let mut expired = Claims::new("tester", Role::Admin, Duration::from_secs(60));
    expired.iat -= 7200;
    expired.exp -= 7200;
    let expired = crate::jwt_keys().sign(&expired);
    let reader_token = crate::token(Role::Reader);
    let admin_token = crate::admin_token();
    let mut parts: Vec<&str> = reader_token.split('.').collect();
    parts[1] = admin_token.split('.').nth(1).expect("a payload");
    let tampered = parts.join(".");
    for (what, bad) in [
        ("expired", expired.as_str()),
        ("tampered", tampered.as_str()),
        ("malformed", "not-a-jwt"),
    ] {
        let response = client_with_token(bad)
            .get(&collection)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{what}");
        let challenge = response.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap();
        assert!(
            challenge.contains("error=\"invalid_token\""),
            "{what}: {challenge}"
        );
    }
    let basic = anonymous
        .get(&collection)
        .basic_auth("admin", Some("secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(written(app, resource).await, before, "nothing is written");
}

/// One event the outbox must hold: op, version, before and after images.
pub type Expected = (events::Op, i64, Option<Value>, Option<Value>);

/// Creates one, then (when it can change) patches, replaces with `If-Match: "2"` and deletes
/// it; returns its id and the events those writes must have recorded, from the API's answers.
pub async fn lifecycle(app: &ApiApp, resource: &Resource) -> (String, Vec<Expected>) {
    use events::Op;
    let created = create(app, resource, 0).await;
    let id = id_of(&created);
    let mut expected = vec![(Op::Create, 1, None, Some(created.clone()))];
    if let Some(change) = &resource.change {
        let url = app.url(&resource.item(&id));
        let patched: Value = app
            .client
            .patch(&url)
            .json(&(change.patch)())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let replaced: Value = app
            .client
            .put(&url)
            .header(header::IF_MATCH, "\"2\"")
            .json(&(change.replace)(1))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let deleted = app.client.delete(&url).send().await.unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        expected.extend([
            (Op::Update, 2, Some(created), Some(patched.clone())),
            (Op::Update, 3, Some(patched), Some(replaced.clone())),
            (Op::Delete, 4, Some(replaced), None),
        ]);
    }
    (id, expected)
}

/// `events` (from the outbox or a topic) are exactly `expected`, self-contained: type,
/// aggregate, images, source, and each with an id of its own.
pub fn assert_recorded(
    events: &[events::ChangeEvent],
    resource: &Resource,
    id: &str,
    expected: &[Expected],
) {
    assert_eq!(events.len(), expected.len(), "{events:?}");
    for (event, (op, version, before, after)) in events.iter().zip(expected) {
        assert_eq!((event.op, event.version), (*op, *version));
        assert_eq!(
            event.event_type,
            format!("{}.{}", resource.kind, op.past_tense())
        );
        assert_eq!(event.aggregate_type, resource.kind);
        assert_eq!(event.aggregate_id, id);
        assert_eq!(
            event.before.as_ref(),
            before.as_ref(),
            "before of v{version}"
        );
        assert_eq!(event.after.as_ref(), after.as_ref(), "after of v{version}");
        assert_eq!(event.source.service, resource.service);
        assert_eq!(event.source.table, resource.table);
        assert!(event.source.tx_id > 0);
    }
    let mut ids: Vec<_> = events.iter().map(|e| e.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), expected.len(), "event ids are unique");
}

pub async fn every_write_records_one_self_contained_event_in_the_outbox(
    app: &ApiApp,
    resource: &Resource,
) {
    let (id, expected) = lifecycle(app, resource).await;
    assert_recorded(&app.outbox_events(&id).await, resource, &id, &expected);
    assert_eq!(app.outbox_rows().await, expected.len() as i64);
}

/// One `#[tokio::test]` per conformance check, against the resource `$resource` of the app
/// `$spawn().await` builds. Use it once per resource, inside a module named for it:
///
/// ```ignore
/// mod customers {
///     test_support::conformance_tests!(crate::common::spawn_app, crate::CUSTOMERS);
/// }
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($spawn:path, $resource:expr) => {
        $crate::conformance_tests!(@each $spawn, $resource;
            created_is_201_with_its_location_and_the_resource_it_returns_on_get,
            unknown_or_malformed_ids_are_404_on_every_verb,
            listing_is_newest_first_pages_by_cursor_or_offset_and_hides_deleted,
            listing_rejects_bad_query_parameters_with_400_naming_them,
            malformed_oversize_and_non_json_bodies_are_refused_and_write_nothing,
            docs_health_metrics_and_request_ids_are_served_without_a_token,
            reads_need_a_token_and_writes_need_an_admin,
            every_write_records_one_self_contained_event_in_the_outbox,
            a_snapshot_emits_one_read_event_per_live_row_with_its_current_image,
            snapshot_requests_are_checked_and_a_refused_one_starts_nothing,
        );
    };
    (changes: $spawn:path, $resource:expr) => {
        $crate::conformance_tests!($spawn, $resource);
        $crate::conformance_tests!(@each $spawn, $resource;
            stale_if_match_is_412_and_writes_nothing,
            delete_is_204_then_404_everywhere_and_the_row_is_kept_as_a_soft_delete,
        );
    };
    (@each $spawn:path, $resource:expr; $($check:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $check() {
                let app = $spawn().await;
                $crate::conformance::$check(&app, &$resource).await;
            }
        )+
    };
}
