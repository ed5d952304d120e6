//! Spawns movie-api in-process on a free port against a fresh database, like a user's
//! deployment but one per test.
#![allow(dead_code)]

use clap::Parser;
use movie_api::{config::Config, startup};
use reqwest::{Client, Response, StatusCode};
use runtime::Shutdown;
use serde_json::{json, Value};
use std::time::Duration;
use test_support::TestEnv;
use web::auth::{Claims, JwtKeys, JwtSecret, Role};

/// The secret the test app verifies tokens with (the gateway would sign with the same one).
pub const JWT_SECRET: &str = "the-api-integration-tests-shared-jwt-secret";

pub fn keys() -> JwtKeys {
    JwtKeys::new(&JWT_SECRET.parse::<JwtSecret>().expect("a valid secret"))
}

/// A valid token for `role`, as the gateway's login would issue it.
pub fn token(role: Role) -> String {
    keys().sign(&Claims::new("tester", role, Duration::from_secs(3600)))
}

/// A client that sends `Authorization: Bearer <token>` with every request.
pub fn client_with_token(token: &str) -> Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}")
            .parse()
            .expect("a token is a valid header"),
    );
    Client::builder()
        .default_headers(headers)
        .build()
        .expect("building a client")
}

pub struct TestApp {
    pub base: String,
    pub database_url: String,
    pub env: TestEnv,
    pub client: Client,
    shutdown: Shutdown,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}

pub async fn spawn_app() -> TestApp {
    let env = TestEnv::get();
    let database_url = env.fresh_database().await;
    let config = Config::try_parse_from([
        "movie-api",
        "--addr",
        "127.0.0.1:0",
        "--database-url",
        &database_url,
        "--auth-mode",
        "jwt",
        "--jwt-secret",
        JWT_SECRET,
    ])
    .expect("valid test config");
    let app = startup::build(&config).await.expect("building movie-api");
    let listener = runtime::serve::bind(config.addr).await.expect("binding");
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = Shutdown::new();
    tokio::spawn(runtime::serve::serve(listener, app, shutdown.clone()));
    TestApp {
        base,
        database_url,
        env,
        client: client_with_token(&token(Role::Admin)),
        shutdown,
    }
}

/// Status and body of an error response, checking the platform's error format on the way.
pub async fn problem(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let body: Value = response.json().await.expect("error bodies are JSON");
    assert!(
        body["error"].is_string() && body["message"].is_string() && body["details"].is_object(),
        "{body}"
    );
    (status, body)
}

/// The `id` of a JSON resource.
pub fn id_of(resource: &Value) -> String {
    resource["id"]
        .as_str()
        .expect("resources have an id")
        .to_owned()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn cast_url(&self, id: &str) -> String {
        self.url(&format!("/api/v1/casts/{id}"))
    }

    pub fn movie_url(&self, id: &str) -> String {
        self.url(&format!("/api/v1/movies/{id}"))
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// GET as JSON, asserting 200.
    pub async fn get_json(&self, path: &str) -> Value {
        let response = self.client.get(self.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.unwrap()
    }

    /// Creates a cast and returns its JSON.
    pub async fn create_cast(&self, name: &str) -> Value {
        let response = self
            .post(
                "/api/v1/casts",
                &json!({"name": name, "nationality": "Japanese"}),
            )
            .await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        response.json().await.unwrap()
    }

    /// Creates a movie from `body` and returns its JSON.
    pub async fn create_movie(&self, body: &Value) -> Value {
        let response = self.post("/api/v1/movies", body).await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        response.json().await.unwrap()
    }

    /// The ids of a listing page's items, in order.
    pub async fn listed_ids(&self, path: &str) -> Vec<String> {
        self.get_json(path).await["items"]
            .as_array()
            .expect("a page has items")
            .iter()
            .map(id_of)
            .collect()
    }

    async fn rows(&self, table: &str) -> i64 {
        test_support::count(
            &self.database_url,
            &format!("SELECT count(*) AS n FROM {table}"),
        )
        .await
    }

    pub async fn outbox_rows(&self) -> i64 {
        self.rows("outbox").await
    }

    /// What is stored, to compare before and after a request that must write nothing.
    pub async fn written(&self) -> Written {
        Written {
            casts: self.rows("casts").await,
            movies: self.rows("movies").await,
            outbox: self.rows("outbox").await,
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
