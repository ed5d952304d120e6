//! The casts resource over HTTP against a real PostgreSQL: every success and error case, and for
//! every error, proof that nothing was written.

mod common;

use common::Catalog as _;
use common::{id_of, problem, spawn_app};
use reqwest::{header, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn create_cast_returns_201_with_location_etag_and_the_cast() {
    let app = spawn_app().await;
    let response = app
        .post(
            "/api/v1/casts",
            &json!({"name": "  Toshiro Mifune ", "nationality": "Japanese"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(response.headers()[header::ETAG], "\"1\"");
    let cast: Value = response.json().await.unwrap();
    assert_eq!(location, format!("/api/v1/casts/{}", id_of(&cast)));
    assert_eq!(cast["name"], "Toshiro Mifune", "names are trimmed");
    assert_eq!(cast["nationality"], "Japanese");
    assert_eq!(cast["version"], 1);
    assert!(cast["created_at"].is_string() && cast["updated_at"].is_string());

    let response = app.client.get(app.url(&location)).send().await.unwrap();
    assert_eq!(response.headers()[header::ETAG], "\"1\"");
    assert_eq!(response.json::<Value>().await.unwrap(), cast);
}

#[tokio::test]
async fn a_cast_without_nationality_is_created_with_null_nationality() {
    let app = spawn_app().await;
    let cast: Value = app
        .post("/api/v1/casts", &json!({"name": "Anonymous Extra"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cast["nationality"], Value::Null);
}

#[tokio::test]
async fn invalid_cast_fields_are_422_naming_each_field_and_write_nothing() {
    let app = spawn_app().await;
    let cases = [
        (json!({"name": ""}), vec!["name"]),
        (json!({"name": "x".repeat(101)}), vec!["name"]),
        (
            json!({"name": "A", "nationality": "n".repeat(51)}),
            vec!["nationality"],
        ),
        (
            json!({"name": " ", "nationality": "n".repeat(51)}),
            vec!["name", "nationality"],
        ),
        (json!({"nationality": "French"}), vec!["name"]),
        (json!({"name": 7}), vec!["name"]),
        (json!({"name": "A", "age": 40}), vec!["age"]),
    ];
    for (body, fields) in cases {
        let (status, problem) = problem(app.post("/api/v1/casts", &body).await).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {problem}"
        );
        assert_eq!(problem["error"], "validation_failed");
        let named: Vec<&str> = problem["details"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(named, fields, "{body}");
    }
    let boundary = app
        .post(
            "/api/v1/casts",
            &json!({"name": "x".repeat(100), "nationality": "n".repeat(50)}),
        )
        .await;
    assert_eq!(
        boundary.status(),
        StatusCode::CREATED,
        "limits are inclusive"
    );
    assert_eq!(app.written().await.casts, 1);
    assert_eq!(app.written().await.outbox, 1);
}

#[tokio::test]
async fn put_replaces_every_cast_field_and_bumps_the_version() {
    let app = spawn_app().await;
    let created = app.create_cast("Takashi Shimura").await;
    let response = app
        .client
        .put(app.cast_url(&id_of(&created)))
        .header(header::IF_MATCH, "\"1\"")
        .json(&json!({"name": "Takashi Shimura (I)"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::ETAG], "\"2\"");
    let replaced: Value = response.json().await.unwrap();
    assert_eq!(replaced["name"], "Takashi Shimura (I)");
    assert_eq!(
        replaced["nationality"],
        Value::Null,
        "PUT replaces the whole resource"
    );
    assert_eq!(replaced["version"], 2);
    assert_eq!(replaced["created_at"], created["created_at"]);
}

#[tokio::test]
async fn patch_changes_only_the_cast_fields_it_names() {
    let app = spawn_app().await;
    let created = app.create_cast("Setsuko Hara").await;
    let url = app.cast_url(&id_of(&created));
    let response = app
        .client
        .patch(&url)
        .header(header::CONTENT_TYPE, "application/merge-patch+json")
        .body(r#"{"name": "Setsuko Hara (原節子)"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let renamed: Value = response.json().await.unwrap();
    assert_eq!(renamed["name"], "Setsuko Hara (原節子)");
    assert_eq!(renamed["nationality"], created["nationality"]);
    assert_eq!(renamed["version"], 2);

    let cleared: Value = app
        .client
        .patch(&url)
        .json(&json!({"nationality": null}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cleared["nationality"], Value::Null);
    assert_eq!(cleared["name"], renamed["name"]);
    assert_eq!(cleared["version"], 3);

    let before = app.written().await;
    let (status, body) = problem(
        app.client
            .patch(&url)
            .json(&json!({"name": ""}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["details"]["name"].is_string());
    assert_eq!(app.written().await, before);
}

#[tokio::test]
async fn deleting_a_cast_that_a_live_movie_names_is_409_naming_the_movies_and_writes_nothing() {
    let app = spawn_app().await;
    let cast = id_of(&app.create_cast("Takashi Shimura").await);
    let other = id_of(&app.create_cast("Toshiro Mifune").await);
    let ikiru = app
        .create_movie(&json!({"title": "Ikiru", "cast_ids": [cast]}))
        .await;
    let samurai = app
        .create_movie(&json!({"title": "Seven Samurai", "cast_ids": [other, cast]}))
        .await;
    app.create_movie(&json!({"title": "Yojimbo", "cast_ids": [other]}))
        .await;
    let before = app.written().await;

    let (status, body) =
        problem(app.client.delete(app.cast_url(&cast)).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"], "conflict");
    let message = body["message"].as_str().unwrap();
    let movies = body["details"]["movies"].as_str().unwrap();
    for movie in [&ikiru, &samurai] {
        for text in [message, movies] {
            assert!(text.contains(&id_of(movie)), "{text}");
            assert!(text.contains(movie["title"].as_str().unwrap()), "{text}");
        }
    }
    assert!(
        !movies.contains("Yojimbo"),
        "only movies naming the cast: {movies}"
    );
    assert_eq!(app.written().await, before);
    app.get_json(&format!("/api/v1/casts/{cast}")).await;
}

#[tokio::test]
async fn a_cast_can_be_deleted_once_no_live_movie_names_it() {
    let app = spawn_app().await;
    let cast = id_of(&app.create_cast("Minoru Chiaki").await);
    let keeper = id_of(&app.create_cast("Kamatari Fujiwara").await);
    let dropped = app
        .create_movie(&json!({"title": "The Hidden Fortress", "cast_ids": [cast, keeper]}))
        .await;
    let deleted = app
        .create_movie(&json!({"title": "Rashomon", "cast_ids": [cast]}))
        .await;
    let conflict = app.client.delete(app.cast_url(&cast)).send().await.unwrap();
    assert_eq!(conflict.status(), StatusCode::CONFLICT);

    let patched = app
        .client
        .patch(app.movie_url(&id_of(&dropped)))
        .json(&json!({"cast_ids": [keeper]}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    let removed = app
        .client
        .delete(app.movie_url(&id_of(&deleted)))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);

    let response = app.client.delete(app.cast_url(&cast)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}
