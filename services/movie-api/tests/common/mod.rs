//! movie-api for the shared harness (`test_support::api`), and the helpers particular to
//! movies and casts.
#![allow(dead_code, unused_imports)]

use clap::Parser;
use movie_api::{config::Config, startup};
use serde_json::{json, Value};
pub use test_support::api::{client_with_token, id_of, problem, ApiApp as TestApp};
use test_support::TestEnv;
pub use test_support::{jwt_keys as keys, token};

pub async fn spawn_app() -> TestApp {
    let database_url = TestEnv::get().fresh_database().await;
    TestApp::start("movie-api", database_url, &[], |args, _| async move {
        startup::build(&Config::try_parse_from(args)?).await
    })
    .await
}

/// What movie and cast tests do often.
pub trait Catalog {
    fn cast_url(&self, id: &str) -> String;
    fn movie_url(&self, id: &str) -> String;
    /// Creates a cast and returns its JSON.
    async fn create_cast(&self, name: &str) -> Value;
    /// Creates a movie from `body` and returns its JSON.
    async fn create_movie(&self, body: &Value) -> Value;
    /// What is stored, to compare before and after a request that must write nothing.
    async fn written(&self) -> Written;
}

impl Catalog for TestApp {
    fn cast_url(&self, id: &str) -> String {
        self.url(&format!("/api/v1/casts/{id}"))
    }

    fn movie_url(&self, id: &str) -> String {
        self.url(&format!("/api/v1/movies/{id}"))
    }

    async fn create_cast(&self, name: &str) -> Value {
        let response = self
            .post(
                "/api/v1/casts",
                &json!({"name": name, "nationality": "Japanese"}),
            )
            .await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        response.json().await.unwrap()
    }

    async fn create_movie(&self, body: &Value) -> Value {
        let response = self.post("/api/v1/movies", body).await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        response.json().await.unwrap()
    }

    async fn written(&self) -> Written {
        Written {
            casts: self.rows("casts").await,
            movies: self.rows("movies").await,
            outbox: self.outbox_rows().await,
            versions: test_support::count(
                &self.database_url,
                "SELECT (SELECT coalesce(sum(version), 0) FROM casts)::bigint \
                      + (SELECT coalesce(sum(version), 0) FROM movies)::bigint AS n",
            )
            .await,
        }
    }
}

/// Row counts and the sum of all versions: any write changes at least one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub casts: i64,
    pub movies: i64,
    pub outbox: i64,
    pub versions: i64,
}
