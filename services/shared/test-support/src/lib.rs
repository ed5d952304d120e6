//! The integration-test harness, in one place so that every test sets up the world the same
//! way a user would: real PostgreSQL, a real Kafka-protocol broker, real processes.
//!
//! `scripts/test.sh` starts the shared infrastructure on its own ports and exports where it is
//! (`TEST_DATABASE_URL`, `TEST_KAFKA_BOOTSTRAP`, `KAFKA_LIBS`, `TEST_RUNTIME_DIR`). Each test then
//! takes its own database and topic prefix, so tests run in parallel without seeing each other.

pub mod api;
pub mod broker;
pub mod burst;
pub mod conformance;
pub mod fixtures;
pub mod fuzz;
pub mod mail;
pub mod mongo;
pub mod process;
pub mod registry;
pub mod server;
pub mod smtp_proxy;
pub mod stall_proxy;
pub mod topic;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use std::{future::Future, path::PathBuf, time::Duration};
use tokio::time::Instant;

/// The token secret every platform process a test starts shares (the gateway, the APIs, the
/// schema registry and the relays that write to it).
pub const TEST_JWT_SECRET: &str = "the-platform-integration-tests-jwt-secret";

/// The keys of [`TEST_JWT_SECRET`], to sign tokens of any kind (an expired one, say).
pub fn jwt_keys() -> web::auth::JwtKeys {
    web::auth::JwtKeys::new(&TEST_JWT_SECRET.parse().expect("a long enough secret"))
}

/// A valid token of `role` for [`TEST_JWT_SECRET`], as the gateway's login would issue it.
pub fn token(role: web::auth::Role) -> String {
    jwt_keys().sign(&web::auth::Claims::new(
        "tester",
        role,
        Duration::from_secs(3600),
    ))
}

/// [`token`] of an admin.
pub fn admin_token() -> String {
    token(web::auth::Role::Admin)
}

/// Where the test infrastructure runs.
#[derive(Debug, Clone)]
pub struct TestEnv {
    /// A superuser URL of the test PostgreSQL server (database `postgres`).
    pub admin_url: String,
    pub bootstrap: String,
    pub runtime_dir: PathBuf,
}

fn required(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the integration tests through scripts/test.sh, which starts their infrastructure")
    })
}

impl TestEnv {
    pub fn get() -> Self {
        Self {
            admin_url: required("TEST_DATABASE_URL"),
            bootstrap: required("TEST_KAFKA_BOOTSTRAP"),
            runtime_dir: PathBuf::from(required("TEST_RUNTIME_DIR")),
        }
    }

    /// Creates an empty database for one test and returns its URL.
    pub async fn fresh_database(&self) -> String {
        let name = unique("db").replace('-', "_");
        let mut admin = AsyncPgConnection::establish(&self.admin_url)
            .await
            .expect("connecting to the test PostgreSQL server");
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("creating a test database");
        let (base, _) = self
            .admin_url
            .rsplit_once('/')
            .expect("a database URL has a path");
        format!("{base}/{name}")
    }

    /// A directory for one test's files. It is kept after the test (for its logs);
    /// scripts/test.sh wipes the runtime dir at the start of every run.
    pub fn scratch_dir(&self, name: &str) -> PathBuf {
        let dir = self.runtime_dir.join(unique(name));
        std::fs::create_dir_all(&dir).expect("creating a scratch dir");
        dir
    }
}

/// A name no other test uses: `prefix-<8 hex digits>`.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// A free TCP port on loopback (bound, then released for the caller's process to take).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("binding a free port")
        .port()
}

/// Polls `probe` until it yields `Some`, failing the test with `what` after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `url` answers 200.
pub async fn wait_until_ready(url: &str, timeout: Duration) {
    let client = reqwest::Client::new();
    eventually(&format!("{url} to answer 200"), timeout, || {
        let request = client.get(url).timeout(Duration::from_secs(2)).send();
        async move {
            request
                .await
                .ok()
                .filter(|r| r.status().is_success())
                .map(|_| ())
        }
    })
    .await
}

/// Runs one SQL query returning a single `BIGINT` column named `n`.
pub async fn count(url: &str, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = AsyncPgConnection::establish(url).await.expect("connecting");
    diesel::sql_query(sql)
        .get_result::<N>(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .n
}

/// Runs one SQL query returning a single `TEXT` column named `s` (e.g. a `string_agg`).
pub async fn text(url: &str, sql: &str) -> String {
    #[derive(diesel::QueryableByName)]
    struct S {
        #[diesel(sql_type = diesel::sql_types::Text)]
        s: String,
    }
    let mut conn = AsyncPgConnection::establish(url).await.expect("connecting");
    diesel::sql_query(sql)
        .get_result::<S>(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .s
}

/// Runs SQL statements, several separated by `;` (setup or fault injection).
pub async fn execute(url: &str, sql: &str) {
    use diesel_async::SimpleAsyncConnection;
    let mut conn = AsyncPgConnection::establish(url).await.expect("connecting");
    conn.batch_execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}
