//! Listing movies over HTTP against a real PostgreSQL: newest first, paged by cursor or offset,
//! deleted ones hidden, filtered by genre and by expiry date (inclusive bounds, in UTC days),
//! and unknown or invalid query parameters refused with 400. A snapshot narrowed by the same
//! filters emits exactly the movies the listing shows.

mod common;

use chrono::{Days, NaiveDate, Utc};
use common::Catalog as _;
use common::{id_of, problem, spawn_app, TestApp};
use reqwest::StatusCode;
use serde_json::json;

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn days_from_today(days: i64) -> String {
    let date = if days >= 0 {
        today() + Days::new(days as u64)
    } else {
        today() - Days::new(days.unsigned_abs())
    };
    date.to_string()
}

async fn movie_with_expiry(app: &TestApp, title: &str, days: i64) -> String {
    id_of(
        &app.create_movie(&json!({"title": title, "expiry_date": days_from_today(days)}))
            .await,
    )
}

#[tokio::test]
async fn movie_listing_filters_by_genre() {
    let app = spawn_app().await;
    let drama = id_of(
        &app.create_movie(&json!({"title": "Tokyo Story", "genres": ["drama"]}))
            .await,
    );
    let war_drama = id_of(
        &app.create_movie(&json!({"title": "Fires on the Plain", "genres": ["war", "drama"]}))
            .await,
    );
    app.create_movie(&json!({"title": "Godzilla", "genres": ["science-fiction"]}))
        .await;
    app.create_movie(&json!({"title": "Untagged"})).await;
    assert_eq!(
        app.listed_ids("/api/v1/movies?genre=drama").await,
        [war_drama.clone(), drama]
    );
    assert_eq!(
        app.listed_ids("/api/v1/movies?genre=WAR&limit=5").await,
        [war_drama]
    );
    assert!(app
        .listed_ids("/api/v1/movies?genre=western")
        .await
        .is_empty());
}

#[tokio::test]
async fn expiring_filter_includes_today_and_today_plus_n_but_not_the_day_after_or_yesterday() {
    let app = spawn_app().await;
    let yesterday = movie_with_expiry(&app, "Yesterday", -1).await;
    let today = movie_with_expiry(&app, "Today", 0).await;
    let in_seven = movie_with_expiry(&app, "In seven days", 7).await;
    let in_eight = movie_with_expiry(&app, "In eight days", 8).await;
    app.create_movie(&json!({"title": "Never expires"})).await;

    let listed = app
        .listed_ids("/api/v1/movies?expiring_within_days=7")
        .await;
    assert_eq!(listed, [in_seven.clone(), today.clone()]);
    assert!(!listed.contains(&yesterday) && !listed.contains(&in_eight));

    assert_eq!(
        app.listed_ids("/api/v1/movies?expiring_within_days=0")
            .await,
        std::slice::from_ref(&today)
    );
    assert_eq!(
        app.listed_ids("/api/v1/movies?expiring_within_days=8")
            .await,
        [in_eight, in_seven, today]
    );
}

#[tokio::test]
async fn expiring_filter_without_a_value_means_30_days() {
    let app = spawn_app().await;
    let in_thirty = movie_with_expiry(&app, "Thirty", 30).await;
    let in_thirty_one = movie_with_expiry(&app, "Thirty-one", 31).await;
    for query in ["expiring_within_days", "expiring_within_days="] {
        let listed = app.listed_ids(&format!("/api/v1/movies?{query}")).await;
        assert_eq!(listed, std::slice::from_ref(&in_thirty), "{query}");
    }
    assert_eq!(
        app.listed_ids("/api/v1/movies?expiring_within_days=31")
            .await,
        [in_thirty_one, in_thirty]
    );
}

#[tokio::test]
async fn expiring_and_genre_filters_combine() {
    let app = spawn_app().await;
    let soon_drama = id_of(
        &app.create_movie(
            &json!({"title": "Soon drama", "genres": ["drama"], "expiry_date": days_from_today(3)}),
        )
        .await,
    );
    app.create_movie(
        &json!({"title": "Soon comedy", "genres": ["comedy"], "expiry_date": days_from_today(3)}),
    )
    .await;
    app.create_movie(
        &json!({"title": "Late drama", "genres": ["drama"], "expiry_date": days_from_today(90)}),
    )
    .await;
    assert_eq!(
        app.listed_ids("/api/v1/movies?genre=drama&expiring_within_days=10")
            .await,
        [soon_drama]
    );
}

#[tokio::test]
async fn movie_listing_rejects_unknown_and_invalid_query_parameters_with_400() {
    let app = spawn_app().await;
    for (query, field) in [
        ("title=Ran", "title"),
        ("genres=drama", "genres"),
        ("genre=noir", "genre"),
        ("expiring_within_days=-1", "expiring_within_days"),
        ("expiring_within_days=1.5", "expiring_within_days"),
        ("expiring_within_days=soon", "expiring_within_days"),
        ("limit=101", "limit"),
        ("offset=x", "offset"),
        ("cursor=nope", "cursor"),
    ] {
        let response = app
            .client
            .get(app.url(&format!("/api/v1/movies?{query}")))
            .send()
            .await
            .unwrap();
        let (status, body) = problem(response).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["error"], "invalid_query");
        assert!(body["details"][field].is_string(), "{query}: {body}");
    }
    let (_, body) = problem(
        app.client
            .get(app.url("/api/v1/movies?genre=noir"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        body["details"]["genre"]
            .as_str()
            .unwrap()
            .contains("science-fiction"),
        "an unknown genre filter names the valid ones: {body}"
    );
}

#[tokio::test]
async fn a_snapshot_filtered_like_the_listing_emits_exactly_the_movies_it_lists() {
    let app = spawn_app().await;
    for (title, genres, days) in [
        ("Tokyo Story", vec!["drama"], 3),
        ("Fires on the Plain", vec!["war", "drama"], 400),
        ("Ikiru", vec!["drama"], -1),
        ("Godzilla", vec!["science-fiction"], 3),
    ] {
        app.create_movie(
            &json!({"title": title, "genres": genres, "expiry_date": days_from_today(days)}),
        )
        .await;
    }
    let listed = app
        .listed_ids("/api/v1/movies?genre=drama&expiring_within_days=30")
        .await;
    assert_eq!(listed.len(), 1, "only Tokyo Story");

    let body = json!({"filter": {"genre": "drama", "expiring_within_days": 30}});
    let started = app.post("/api/v1/movies/snapshots", &body).await;
    assert_eq!(started.status(), StatusCode::ACCEPTED);
    let location = started.headers()["location"].to_str().unwrap().to_owned();
    let snapshot = test_support::conformance::snapshot_done(&app, &location).await;
    assert_eq!(snapshot["rows_total"], 1);
    assert_eq!(
        snapshot["filter"],
        json!({"genre": "drama", "expiring_within_days": "30"})
    );
    let read = test_support::count(
        &app.database_url,
        "SELECT count(*) AS n FROM outbox WHERE event_type = 'movie.read'",
    )
    .await;
    assert_eq!(read, 1);
    assert_eq!(
        app.outbox_events(&listed[0]).await.len(),
        2,
        "created, then read"
    );

    let (status, body) = problem(
        app.post(
            "/api/v1/movies/snapshots",
            &json!({"filter": {"genre": "no-such-genre"}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["details"]["filter.genre"].is_string(), "{body}");
}
