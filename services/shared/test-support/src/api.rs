//! One harness for every API's integration tests: the API built from its real command line,
//! served in-process on a free port against its own fresh database, and a client that talks to
//! it the way a user's client would (a bearer token on every request).
//!
//! Each API's `tests/common/mod.rs` only says how to build it from arguments, plus the helpers
//! particular to its resources.

use crate::TestEnv;
use reqwest::{Client, Response, StatusCode};
use runtime::Shutdown;
use serde_json::Value;
use std::future::Future;

/// A running API.
pub struct ApiApp {
    pub base: String,
    pub database_url: String,
    pub env: TestEnv,
    /// Sends an admin token with every request.
    pub client: Client,
    shutdown: Shutdown,
}

impl Drop for ApiApp {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
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

impl ApiApp {
    /// Builds the API named `name` with `build`, which gets its command line (`--addr`,
    /// `--database-url database_url`, JWT auth with [`crate::TEST_JWT_SECRET`], then `extra`)
    /// and the shutdown the test triggers when the app is dropped; then runs it.
    pub async fn start<B, F>(name: &str, database_url: String, extra: &[&str], build: B) -> Self
    where
        B: FnOnce(Vec<String>, Shutdown) -> F,
        F: Future<Output = anyhow::Result<runtime::App>>,
    {
        let env = TestEnv::get();
        let args: Vec<String> = [
            name,
            "--addr",
            "127.0.0.1:0",
            "--database-url",
            &database_url,
            "--auth-mode",
            "jwt",
            "--jwt-secret",
            crate::TEST_JWT_SECRET,
        ]
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect();
        let shutdown = Shutdown::new();
        let app = build(args, shutdown.clone())
            .await
            .unwrap_or_else(|e| panic!("building {name}: {e:#}"));
        let base = format!("http://{}", app.local_addr());
        tokio::spawn(app.run(shutdown.clone()));
        Self {
            base,
            database_url,
            env,
            client: client_with_token(&crate::admin_token()),
            shutdown,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("the API answers")
    }

    /// POSTs `body` as it is, labelled JSON (for bodies `serde_json` would never write).
    pub async fn post_raw_json(&self, path: &str, body: &str) -> Response {
        self.client
            .post(self.url(path))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("the API answers")
    }

    /// GET as JSON, asserting 200.
    pub async fn get_json(&self, path: &str) -> Value {
        let response = self
            .client
            .get(self.url(path))
            .send()
            .await
            .expect("the API answers");
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.expect("a JSON body")
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

    /// The rows of `table` in the app's database.
    pub async fn rows(&self, table: &str) -> i64 {
        crate::count(
            &self.database_url,
            &format!("SELECT count(*) AS n FROM {table}"),
        )
        .await
    }

    pub async fn outbox_rows(&self) -> i64 {
        self.rows("outbox").await
    }

    /// The outbox payloads of one aggregate, in outbox order.
    pub async fn outbox_events(&self, aggregate_id: &str) -> Vec<events::ChangeEvent> {
        use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Jsonb)]
            payload: Value,
        }
        let mut conn = AsyncPgConnection::establish(&self.database_url)
            .await
            .expect("connecting to the app's database");
        let rows: Vec<Row> =
            diesel::sql_query("SELECT payload FROM outbox WHERE aggregate_id = $1 ORDER BY id")
                .bind::<diesel::sql_types::Text, _>(aggregate_id)
                .load(&mut conn)
                .await
                .expect("reading the outbox");
        rows.into_iter()
            .map(|r| serde_json::from_value(r.payload).expect("a change event"))
            .collect()
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
