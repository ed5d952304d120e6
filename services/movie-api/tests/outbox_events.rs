//! The transactional outbox as movie-api uses it: one self-contained event per committed change
//! of a movie (topic `movies`) or a cast (topic `casts`), atomic with the change, nothing for a
//! rejected request, and on Kafka in commit order once the relay runs.

mod common;

use common::Catalog as _;
use common::{id_of, spawn_app, TestApp};
use events::{ChangeEvent, Op};
use futures::future::join_all;
use reqwest::{header, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;
use test_support::{process::RunningService, topic};

const KAFKA_WAIT: Duration = Duration::from_secs(60);

/// The (topic, event) pairs recorded for one aggregate, in outbox order.
async fn outbox_events(app: &TestApp, id: &str) -> Vec<(String, ChangeEvent)> {
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        topic: String,
        #[diesel(sql_type = diesel::sql_types::Jsonb)]
        payload: Value,
    }
    let mut conn = AsyncPgConnection::establish(&app.database_url)
        .await
        .unwrap();
    let rows: Vec<Row> =
        diesel::sql_query("SELECT topic, payload FROM outbox WHERE aggregate_id = $1 ORDER BY id")
            .bind::<diesel::sql_types::Text, _>(id)
            .load(&mut conn)
            .await
            .unwrap();
    rows.into_iter()
        .map(|r| (r.topic, serde_json::from_value(r.payload).unwrap()))
        .collect()
}

async fn send_json(request: reqwest::RequestBuilder) -> Value {
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// create → patch → put → delete of a cast; returns its id and the three response images.
async fn cast_lifecycle(app: &TestApp) -> (String, Vec<Value>) {
    let created = app.create_cast("Isuzu Yamada").await;
    let id = id_of(&created);
    let url = app.cast_url(&id);
    let renamed = send_json(
        app.client
            .patch(&url)
            .json(&json!({"name": "Isuzu Yamada (I)"})),
    )
    .await;
    let replaced = send_json(
        app.client
            .put(&url)
            .header(header::IF_MATCH, "\"2\"")
            .json(&json!({"name": "Isuzu Yamada", "nationality": "Japanese"})),
    )
    .await;
    let deleted = app.client.delete(&url).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    (id, vec![created, renamed, replaced])
}

/// create → patch → put → delete of a movie with genres and cast; returns its id and images.
async fn movie_lifecycle(app: &TestApp) -> (String, Vec<Value>) {
    let mifune = id_of(&app.create_cast("Toshiro Mifune").await);
    let shimura = id_of(&app.create_cast("Takashi Shimura").await);
    let created = app
        .create_movie(&json!({
            "title": "Stray Dog",
            "plot": "A detective hunts his stolen pistol.",
            "genres": ["crime", "thriller"],
            "cast_ids": [mifune],
            "release_year": 1949,
            "expiry_date": "2031-08-01",
        }))
        .await;
    let id = id_of(&created);
    let url = app.movie_url(&id);
    let recast = send_json(
        app.client
            .patch(&url)
            .json(&json!({"cast_ids": [mifune, shimura], "genres": ["crime", "drama"]})),
    )
    .await;
    let replaced = send_json(
        app.client
            .put(&url)
            .header(header::IF_MATCH, "\"2\"")
            .json(&json!({"title": "Nora inu", "genres": ["crime"], "cast_ids": [shimura]})),
    )
    .await;
    let deleted = app.client.delete(&url).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    (id, vec![created, recast, replaced])
}

/// Checks four lifecycle events of `aggregate` against the API's own responses.
fn assert_lifecycle(
    events: &[(String, ChangeEvent)],
    (aggregate, table, topic): (&str, &str, &str),
    id: &str,
    images: &[Value],
) {
    let summary: Vec<(&str, Op, i64, &str)> = events
        .iter()
        .map(|(t, e)| (t.as_str(), e.op, e.version, e.event_type.as_str()))
        .collect();
    let created = format!("{aggregate}.created");
    let updated = format!("{aggregate}.updated");
    let deleted = format!("{aggregate}.deleted");
    assert_eq!(
        summary,
        [
            (topic, Op::Create, 1, created.as_str()),
            (topic, Op::Update, 2, updated.as_str()),
            (topic, Op::Update, 3, updated.as_str()),
            (topic, Op::Delete, 4, deleted.as_str()),
        ]
    );
    let [v1, v2, v3] = images else {
        panic!("three images")
    };
    let expected: [(Option<&Value>, Option<&Value>); 4] = [
        (None, Some(v1)),
        (Some(v1), Some(v2)),
        (Some(v2), Some(v3)),
        (Some(v3), None),
    ];
    for ((_, event), (before, after)) in events.iter().zip(expected) {
        assert_eq!(event.aggregate_type, aggregate);
        assert_eq!(event.aggregate_id, id);
        assert_eq!(
            event.before.as_ref(),
            before,
            "before image of v{}",
            event.version
        );
        assert_eq!(
            event.after.as_ref(),
            after,
            "after image of v{}",
            event.version
        );
        assert_eq!(event.source.service, "movie-api");
        assert_eq!(event.source.table, table);
        assert!(event.source.tx_id > 0);
    }
    let mut ids: Vec<_> = events.iter().map(|(_, e)| e.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4, "event ids are unique");
}

#[tokio::test]
async fn no_rejected_request_writes_an_outbox_row() {
    let app = spawn_app().await;
    let cast = id_of(&app.create_cast("Kyoko Kagawa").await);
    let movie = id_of(
        &app.create_movie(&json!({"title": "Sansho the Bailiff", "cast_ids": [cast]}))
            .await,
    );
    let before = app.written().await;
    let missing = "0193a1b2-0000-7000-8000-000000000000";
    let rejected = [
        (app.client.delete(app.cast_url(&cast)), StatusCode::CONFLICT),
        (
            app.client
                .post(app.url("/api/v1/movies"))
                .json(&json!({"title": "X", "cast_ids": [missing]})),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            app.client
                .post(app.url("/api/v1/movies"))
                .json(&json!({"title": "X", "genres": ["noir"]})),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            app.client
                .post(app.url("/api/v1/casts"))
                .json(&json!({"name": ""})),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            app.client
                .patch(app.movie_url(&movie))
                .json(&json!({"cast_ids": [cast, missing]})),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            app.client
                .put(app.cast_url(&cast))
                .header(header::IF_MATCH, "\"5\"")
                .json(&json!({"name": "Y"})),
            StatusCode::PRECONDITION_FAILED,
        ),
        (
            app.client.delete(app.movie_url(missing)),
            StatusCode::NOT_FOUND,
        ),
        (
            app.client
                .post(app.url("/api/v1/movies"))
                .header(header::CONTENT_TYPE, "application/json")
                .body("{"),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (request, expected) in rejected {
        assert_eq!(request.send().await.unwrap().status(), expected);
    }
    assert_eq!(app.written().await, before);
}

#[tokio::test]
async fn a_write_that_fails_after_the_row_change_leaves_neither_row_nor_event() {
    let app = spawn_app().await;
    let cast = app.create_cast("Before The Fault").await;
    let movie = app
        .create_movie(&json!({"title": "Before The Fault", "cast_ids": [id_of(&cast)]}))
        .await;
    // Make the outbox insert fail: the row change is already done in the same transaction.
    test_support::execute(
        &app.database_url,
        "CREATE FUNCTION refuse_outbox() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN RAISE EXCEPTION 'injected outbox failure'; END $$; \
         CREATE TRIGGER refuse_outbox BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION refuse_outbox();",
    )
    .await;
    let before = app.written().await;
    let attempts = [
        app.client
            .post(app.url("/api/v1/casts"))
            .json(&json!({"name": "Doomed"})),
        app.client
            .post(app.url("/api/v1/movies"))
            .json(&json!({"title": "Doomed"})),
        app.client
            .patch(app.cast_url(&id_of(&cast)))
            .json(&json!({"name": "Changed"})),
        app.client
            .patch(app.movie_url(&id_of(&movie)))
            .json(&json!({"title": "Changed", "cast_ids": []})),
        app.client.delete(app.movie_url(&id_of(&movie))),
    ];
    for attempt in attempts {
        let response = attempt.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body: Value = response.json().await.unwrap();
        assert!(
            !body["message"].as_str().unwrap().contains("injected"),
            "internal causes stay in the log"
        );
    }
    assert_eq!(
        app.written().await,
        before,
        "no row change and no outbox row"
    );
    assert_eq!(
        app.get_json(&format!("/api/v1/casts/{}", id_of(&cast)))
            .await,
        cast
    );
    assert_eq!(
        app.get_json(&format!("/api/v1/movies/{}", id_of(&movie)))
            .await,
        movie
    );
}

#[tokio::test]
async fn cast_deletes_racing_movie_creates_never_leave_a_movie_naming_a_deleted_cast() {
    let app = spawn_app().await;
    for round in 0..15 {
        let cast = id_of(&app.create_cast(&format!("Contested {round}")).await);
        let create = app
            .client
            .post(app.url("/api/v1/movies"))
            .json(&json!({"title": format!("Racing {round}"), "cast_ids": [cast]}))
            .send();
        let delete = app.client.delete(app.cast_url(&cast)).send();
        let (create, delete) = tokio::join!(create, delete);
        let (create, delete) = (create.unwrap().status(), delete.unwrap().status());
        assert!(
            matches!(
                (create, delete),
                (StatusCode::CREATED, StatusCode::CONFLICT)
                    | (StatusCode::UNPROCESSABLE_ENTITY, StatusCode::NO_CONTENT)
            ),
            "round {round}: create {create}, delete {delete}"
        );
    }
    let orphans = test_support::count(
        &app.database_url,
        "SELECT count(*) AS n FROM movies m JOIN casts c ON c.id = ANY (m.cast_ids) \
         WHERE m.deleted_at IS NULL AND c.deleted_at IS NOT NULL",
    )
    .await;
    assert_eq!(orphans, 0, "a live movie names a deleted cast");
}

#[tokio::test]
async fn concurrent_patches_of_one_movie_record_consecutive_versions() {
    let app = spawn_app().await;
    let id = id_of(&app.create_movie(&json!({"title": "Contended"})).await);
    let url = app.movie_url(&id);
    let statuses = join_all((0..20).map(|i| {
        let request = app
            .client
            .patch(&url)
            .json(&json!({"title": format!("Writer {i}")}));
        async move { request.send().await.unwrap().status() }
    }))
    .await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    let events = outbox_events(&app, &id).await;
    let versions: Vec<i64> = events.iter().map(|(_, e)| e.version).collect();
    assert_eq!(versions, (1..=21).collect::<Vec<_>>());
    for pair in events.windows(2) {
        assert_eq!(
            pair[1].1.before, pair[0].1.after,
            "v{} follows v{}",
            pair[1].1.version, pair[0].1.version
        );
    }
}

#[tokio::test]
async fn movie_and_cast_events_reach_their_own_topics_in_order_through_the_relay() {
    let app = spawn_app().await;
    let prefix = test_support::unique("movie-api") + ".";
    // Compares the topic with the outbox afterwards: the polling relay keeps published rows.
    let polling = [("RELAY_CAPTURE", "poll".to_owned())];
    let _relay =
        RunningService::relay(&app.database_url, &app.env.bootstrap, &prefix, &polling).await;
    let (cast_id, cast_images) = cast_lifecycle(&app).await;
    let (movie_id, movie_images) = movie_lifecycle(&app).await;

    let casts_topic = format!("{prefix}casts");
    let movies_topic = format!("{prefix}movies");
    let cast_events =
        topic::events_for(&app.env.bootstrap, &casts_topic, &cast_id, 4, KAFKA_WAIT).await;
    let movie_events =
        topic::events_for(&app.env.bootstrap, &movies_topic, &movie_id, 4, KAFKA_WAIT).await;
    let on = |topic: &str, events: Vec<ChangeEvent>| -> Vec<(String, ChangeEvent)> {
        events.into_iter().map(|e| (topic.to_owned(), e)).collect()
    };
    assert_lifecycle(
        &on("casts", cast_events.clone()),
        ("cast", "casts", "casts"),
        &cast_id,
        &cast_images,
    );
    assert_lifecycle(
        &on("movies", movie_events.clone()),
        ("movie", "movies", "movies"),
        &movie_id,
        &movie_images,
    );
    let recorded = |events: Vec<(String, ChangeEvent)>| -> Vec<ChangeEvent> {
        events.into_iter().map(|(_, e)| e).collect()
    };
    assert_eq!(cast_events, recorded(outbox_events(&app, &cast_id).await));
    assert_eq!(movie_events, recorded(outbox_events(&app, &movie_id).await));
}
