//! The movies resource (and the genre list, docs, health) over HTTP against a real PostgreSQL:
//! every success and error case, the cast-id and genre rules, and for every error, proof that
//! nothing was written. Listing, paging and filters are in `movies_listing.rs`.

mod common;

use common::Catalog as _;
use common::{id_of, problem, spawn_app};
use reqwest::{header, StatusCode};
use serde_json::{json, Value};

const GENRES: [&str; 18] = [
    "action",
    "adventure",
    "animation",
    "comedy",
    "crime",
    "documentary",
    "drama",
    "family",
    "fantasy",
    "history",
    "horror",
    "music",
    "mystery",
    "romance",
    "science-fiction",
    "thriller",
    "war",
    "western",
];

#[tokio::test]
async fn create_movie_returns_201_with_location_etag_and_every_field() {
    let app = spawn_app().await;
    let mifune = id_of(&app.create_cast("Toshiro Mifune").await);
    let shimura = id_of(&app.create_cast("Takashi Shimura").await);
    let response = app
        .post(
            "/api/v1/movies",
            &json!({
                "title": " Seven Samurai ",
                "plot": "Farmers hire seven ronin to defend their village.",
                "genres": ["Action", "drama", "action"],
                "cast_ids": [shimura, mifune, shimura],
                "release_year": 1954,
                "expiry_date": "2030-12-31",
            }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()[header::ETAG], "\"1\"");
    let location = response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    let movie: Value = response.json().await.unwrap();
    assert_eq!(location, format!("/api/v1/movies/{}", id_of(&movie)));
    assert_eq!(movie["title"], "Seven Samurai");
    assert_eq!(
        movie["plot"],
        "Farmers hire seven ronin to defend their village."
    );
    assert_eq!(
        movie["genres"],
        json!(["action", "drama"]),
        "genres are canonical and unique"
    );
    assert_eq!(
        movie["cast_ids"],
        json!([shimura, mifune]),
        "cast ids are unique, in the order given"
    );
    assert_eq!(movie["release_year"], 1954);
    assert_eq!(movie["expiry_date"], "2030-12-31");
    assert_eq!(movie["version"], 1);
    assert!(movie["created_at"].is_string() && movie["updated_at"].is_string());
    assert_eq!(app.get_json(&location).await, movie);
}

#[tokio::test]
async fn a_movie_with_only_a_title_has_empty_lists_and_null_optionals() {
    let app = spawn_app().await;
    let movie = app.create_movie(&json!({"title": "Dodes'ka-den"})).await;
    assert_eq!(movie["genres"], json!([]));
    assert_eq!(movie["cast_ids"], json!([]));
    for field in ["plot", "release_year", "expiry_date"] {
        assert_eq!(movie[field], Value::Null, "{field}");
    }
}

#[tokio::test]
async fn genres_endpoint_lists_every_valid_genre() {
    let app = spawn_app().await;
    let list = app.get_json("/api/v1/genres").await;
    assert_eq!(list["genres"], json!(GENRES));
}

#[tokio::test]
async fn an_unknown_genre_is_422_naming_the_valid_genres_and_writes_nothing() {
    let app = spawn_app().await;
    let movie = app
        .create_movie(&json!({"title": "Ran", "genres": ["drama"]}))
        .await;
    let before = app.written().await;
    let attempts = [
        app.client
            .post(app.url("/api/v1/movies"))
            .json(&json!({"title": "Ran", "genres": ["drama", "sci-fi"]})),
        app.client
            .put(app.movie_url(&id_of(&movie)))
            .json(&json!({"title": "Ran", "genres": ["sci-fi"]})),
        app.client
            .patch(app.movie_url(&id_of(&movie)))
            .json(&json!({"genres": ["war", "sci-fi"]})),
    ];
    for attempt in attempts {
        let (status, body) = problem(attempt.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let detail = body["details"]["genres"].as_str().unwrap();
        assert!(detail.contains("'sci-fi'"), "{detail}");
        for valid in GENRES {
            assert!(detail.contains(valid), "{valid} missing from: {detail}");
        }
    }
    assert_eq!(app.written().await, before);
    assert_eq!(
        app.get_json(&format!("/api/v1/movies/{}", id_of(&movie)))
            .await,
        movie
    );
}

#[tokio::test]
async fn unknown_or_deleted_cast_ids_are_422_naming_them_and_write_nothing() {
    let app = spawn_app().await;
    let live = id_of(&app.create_cast("Tatsuya Nakadai").await);
    let deleted = id_of(&app.create_cast("Gone Actor").await);
    let response = app
        .client
        .delete(app.cast_url(&deleted))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let unknown = "0193a1b2-0000-7000-8000-000000000000";
    let movie = app
        .create_movie(&json!({"title": "Harakiri", "cast_ids": [live]}))
        .await;
    let before = app.written().await;

    let attempts = [
        app.client
            .post(app.url("/api/v1/movies"))
            .json(&json!({"title": "Kagemusha", "cast_ids": [live, unknown, deleted]})),
        app.client
            .put(app.movie_url(&id_of(&movie)))
            .json(&json!({"title": "Harakiri", "cast_ids": [unknown, live, deleted]})),
        app.client
            .patch(app.movie_url(&id_of(&movie)))
            .json(&json!({"cast_ids": [deleted, unknown]})),
    ];
    for attempt in attempts {
        let (status, body) = problem(attempt.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"], "validation_failed");
        let detail = body["details"]["cast_ids"].as_str().unwrap();
        assert!(
            detail.contains(unknown) && detail.contains(&deleted),
            "{detail}"
        );
        assert!(
            !detail.contains(&live),
            "a live cast is not missing: {detail}"
        );
    }
    let (status, body) = problem(
        app.post(
            "/api/v1/movies",
            &json!({"title": "Kagemusha", "cast_ids": ["not-a-uuid"]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["details"]["cast_ids[0]"].is_string(), "{body}");
    assert_eq!(app.written().await, before);
}

#[tokio::test]
async fn invalid_movie_fields_are_422_naming_each_field_and_write_nothing() {
    let app = spawn_app().await;
    let cases = [
        (json!({"title": ""}), vec!["title"]),
        (json!({"title": "t".repeat(201)}), vec!["title"]),
        (
            json!({"title": "T", "plot": "p".repeat(2001)}),
            vec!["plot"],
        ),
        (
            json!({"title": "T", "release_year": 1887}),
            vec!["release_year"],
        ),
        (
            json!({"title": "T", "release_year": "1954"}),
            vec!["release_year"],
        ),
        (
            json!({"title": "T", "expiry_date": "2027-02-30"}),
            vec!["expiry_date"],
        ),
        (
            json!({"title": "T", "expiry_date": "next week"}),
            vec!["expiry_date"],
        ),
        (json!({"title": "T", "genres": "drama"}), vec!["genres"]),
        (json!({"plot": "no title"}), vec!["title"]),
        (json!({"title": "T", "rating": 5}), vec!["rating"]),
        (
            json!({"title": "", "plot": "p".repeat(2001), "genres": ["noir"], "release_year": 3000, "expiry_date": "x"}),
            vec!["expiry_date", "genres", "plot", "release_year", "title"],
        ),
    ];
    for (body, fields) in cases {
        let (status, problem) = problem(app.post("/api/v1/movies", &body).await).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {problem}"
        );
        let named: Vec<&str> = problem["details"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(named, fields, "{body}");
    }
    let written = app.written().await;
    assert_eq!((written.movies, written.outbox), (0, 0));

    let boundary = app
        .post(
            "/api/v1/movies",
            &json!({"title": "t".repeat(200), "plot": "p".repeat(2000), "release_year": 1888}),
        )
        .await;
    assert_eq!(
        boundary.status(),
        StatusCode::CREATED,
        "limits are inclusive"
    );
}

#[tokio::test]
async fn put_replaces_every_movie_field_and_bumps_the_version() {
    let app = spawn_app().await;
    let cast = id_of(&app.create_cast("Toshiro Mifune").await);
    let created = app
        .create_movie(&json!({
            "title": "Throne of Blood",
            "plot": "Macbeth in feudal Japan.",
            "genres": ["drama"],
            "cast_ids": [cast],
            "release_year": 1957,
            "expiry_date": "2031-01-01",
        }))
        .await;
    let response = app
        .client
        .put(app.movie_url(&id_of(&created)))
        .header(header::IF_MATCH, "\"1\"")
        .json(&json!({"title": "Kumonosu-jō", "genres": ["history", "war"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::ETAG], "\"2\"");
    let replaced: Value = response.json().await.unwrap();
    assert_eq!(replaced["title"], "Kumonosu-jō");
    assert_eq!(replaced["genres"], json!(["history", "war"]));
    assert_eq!(
        replaced["cast_ids"],
        json!([]),
        "PUT replaces the whole resource"
    );
    for field in ["plot", "release_year", "expiry_date"] {
        assert_eq!(replaced[field], Value::Null, "{field}");
    }
    assert_eq!(replaced["version"], 2);
    assert_eq!(replaced["created_at"], created["created_at"]);
}

#[tokio::test]
async fn patch_changes_only_the_movie_fields_it_names_and_null_clears() {
    let app = spawn_app().await;
    let first = id_of(&app.create_cast("Kinuyo Tanaka").await);
    let second = id_of(&app.create_cast("Masayuki Mori").await);
    let created = app
        .create_movie(&json!({
            "title": "Ugetsu",
            "plot": "Two peasants chase fortune in a civil war.",
            "genres": ["drama", "fantasy"],
            "cast_ids": [first],
            "release_year": 1953,
            "expiry_date": "2032-05-05",
        }))
        .await;
    let url = app.movie_url(&id_of(&created));
    let response = app
        .client
        .patch(&url)
        .header(header::IF_MATCH, "\"1\"")
        .json(&json!({"cast_ids": [second, first], "release_year": 1954}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let patched: Value = response.json().await.unwrap();
    assert_eq!(patched["cast_ids"], json!([second, first]));
    assert_eq!(patched["release_year"], 1954);
    for field in ["title", "plot", "genres", "expiry_date", "created_at"] {
        assert_eq!(patched[field], created[field], "{field}");
    }
    assert_eq!(patched["version"], 2);

    let cleared: Value = app
        .client
        .patch(&url)
        .json(&json!({"plot": null, "genres": null, "expiry_date": null}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cleared["plot"], Value::Null);
    assert_eq!(cleared["genres"], json!([]));
    assert_eq!(cleared["expiry_date"], Value::Null);
    assert_eq!(cleared["cast_ids"], patched["cast_ids"]);
    assert_eq!(cleared["version"], 3);
}
