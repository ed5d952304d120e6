//! The `movie-api` binary as an operator runs it: configured by environment variables,
//! migrating its own database at start, and exiting cleanly on SIGTERM.

mod common;

use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;
use test_support::{process::RunningService, TestEnv};
use web::auth::Role;

#[tokio::test]
async fn the_binary_migrates_serves_and_exits_0_on_sigterm() {
    let env = TestEnv::get();
    let database_url = env.fresh_database().await;
    let mut service = RunningService::start(
        "movie-api",
        "MOVIE_API_ADDR",
        &[
            ("MOVIE_DATABASE_URL", database_url.clone()),
            ("JWT_SECRET", test_support::TEST_JWT_SECRET.to_owned()),
        ],
    )
    .await;
    let created = reqwest::Client::new()
        .post(format!("{}/api/v1/casts", service.http))
        .bearer_auth(common::token(Role::Admin))
        .json(&json!({"name": "Toshiro Mifune"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);

    let status = service.process.terminate(Duration::from_secs(20)).await;
    assert!(
        status.success(),
        "exit status {status:?}; log:\n{}",
        service.process.log()
    );
    assert_eq!(
        test_support::count(
            &database_url,
            "SELECT count(*) AS n FROM outbox WHERE topic = 'casts'"
        )
        .await,
        1
    );
}
