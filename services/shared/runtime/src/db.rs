//! PostgreSQL access through diesel-async: a deadpool pool and embedded migrations.

use deadpool::managed::{self, Metrics, RecycleResult};
use diesel::{migration::MigrationSource, pg::Pg};
use diesel_async::{
    async_connection_wrapper::AsyncConnectionWrapper,
    pooled_connection::{AsyncDieselConnectionManager, PoolError, PoolableConnection},
    AsyncPgConnection, RunQueryDsl,
};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};
use std::time::Duration;

pub type PgPool = managed::Pool<Manager>;
/// A connection checked out of a [`PgPool`].
pub type PgConn = managed::Object<Manager>;

/// A connection reused within this long of its last checkout is handed out without a ping,
/// like HikariCP's `aliveBypassWindowMs`.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

/// diesel-async's pool manager, minus the `SELECT 1` it sends on every checkout: that round trip
/// was one in six of a write request's. A closed socket or a broken transaction still fails the
/// check at once (`is_broken`); a connection idle for longer than [`PING_IF_IDLE_FOR`], which a
/// restarted server or a network device may have dropped without a word, is still pinged.
pub struct Manager(
    AsyncDieselConnectionManager<AsyncPgConnection>,
    /// Every connection's `statement_timeout`.
    Duration,
);

impl managed::Manager for Manager {
    type Type = AsyncPgConnection;
    type Error = PoolError;

    async fn create(&self) -> Result<AsyncPgConnection, PoolError> {
        let mut conn = self.0.create().await?;
        // A statement that runs away (a lock never released, a plan gone wrong) fails instead of
        // holding its connection, and with it a request and a pool slot, forever.
        diesel::sql_query(format!("SET statement_timeout = {}", self.1.as_millis()))
            .execute(&mut conn)
            .await
            .map_err(PoolError::QueryError)?;
        Ok(conn)
    }

    async fn recycle(
        &self,
        conn: &mut AsyncPgConnection,
        metrics: &Metrics,
    ) -> RecycleResult<PoolError> {
        if metrics.last_used() < PING_IF_IDLE_FOR && !conn.is_broken() {
            return Ok(());
        }
        self.0.recycle(conn, metrics).await
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("building the connection pool: {0}")]
    Pool(String),
    #[error("running migrations: {0}")]
    Migration(String),
    #[error("database unavailable: {0}")]
    Unavailable(String),
}

/// Database options every database-backed binary flattens into its config.
#[derive(Debug, Clone, clap::Args)]
pub struct PoolArgs {
    /// Maximum connections in the pool.
    #[arg(long, env = "DB_POOL_SIZE", default_value_t = 16)]
    pub db_pool_size: usize,
    /// How long a request waits for a pooled connection (or for a new one to be opened) before
    /// it fails as unavailable, in milliseconds: readiness answers instead of hanging.
    #[arg(long, env = "DB_CHECKOUT_TIMEOUT_MS", default_value = "5000", value_parser = crate::config::millis)]
    pub db_checkout_timeout: Duration,
    /// Every statement's limit (PostgreSQL `statement_timeout`), in milliseconds.
    #[arg(long, env = "DB_STATEMENT_TIMEOUT_MS", default_value = "30000", value_parser = crate::config::millis)]
    pub db_statement_timeout: Duration,
}

impl PoolArgs {
    /// The defaults with `size` connections (tests, and the relay's one-connection probe).
    pub fn with_size(size: usize) -> Self {
        Self {
            db_pool_size: size,
            db_checkout_timeout: Duration::from_secs(5),
            db_statement_timeout: Duration::from_secs(30),
        }
    }
}

pub fn pool(url: &str, args: &PoolArgs) -> Result<PgPool, DbError> {
    let manager = Manager(
        AsyncDieselConnectionManager::new(url),
        args.db_statement_timeout,
    );
    let timeout = Some(args.db_checkout_timeout);
    managed::Pool::builder(manager)
        .max_size(args.db_pool_size)
        .wait_timeout(timeout)
        .create_timeout(timeout)
        .recycle_timeout(timeout)
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .map_err(|e| DbError::Pool(e.to_string()))
}

/// Migrates the database at `url` with `sets` and opens the pool the service runs on: the one
/// way every service that owns tables opens its database.
pub async fn open(
    url: &str,
    sets: &'static [EmbeddedMigrations],
    args: &PoolArgs,
) -> Result<PgPool, DbError> {
    migrate(url, sets).await?;
    pool(url, args)
}

/// The readiness probe of a service on `pool`: the database answers [`ping`] in time.
pub fn readiness(pool: &PgPool) -> crate::ops::ReadinessCheck {
    let pool = pool.clone();
    std::sync::Arc::new(move || {
        let pool = pool.clone();
        Box::pin(async move { ping(&pool).await.map_err(|e| e.to_string()) })
    })
}

/// Applies every pending migration of each set, in order. Several sets may share one database
/// (a service's own tables plus the shared outbox); diesel records them in one table.
pub async fn migrate(url: &str, sets: &'static [EmbeddedMigrations]) -> Result<(), DbError> {
    let url = url.to_owned();
    // diesel's migration harness is synchronous; the wrapper drives the async connection.
    tokio::task::spawn_blocking(move || {
        use diesel::Connection;
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)
            .map_err(|e| DbError::Migration(e.to_string()))?;
        for set in sets {
            conn.run_pending_migrations(Borrowed(set))
                .map_err(|e| DbError::Migration(e.to_string()))?;
        }
        Ok(())
    })
    .await
    .map_err(|e| DbError::Migration(e.to_string()))?
}

/// A readiness probe: one round trip through the pool, answered within the checkout timeout
/// even when the server hangs (its own `statement_timeout` cannot help then: a hung server
/// never says the statement was cancelled).
pub async fn ping(pool: &PgPool) -> Result<(), DbError> {
    let deadline = pool.timeouts().wait.unwrap_or(Duration::from_secs(5));
    let round_trip = async {
        let mut conn = pool
            .get()
            .await
            .map_err(|e| DbError::Unavailable(e.to_string()))?;
        diesel::sql_query("SELECT 1")
            .execute(&mut conn)
            .await
            .map_err(|e| DbError::Unavailable(e.to_string()))
    };
    match tokio::time::timeout(deadline, round_trip).await {
        Ok(result) => result.map(drop),
        Err(_) => Err(DbError::Unavailable(format!(
            "no answer within {deadline:?}"
        ))),
    }
}

/// diesel implements `MigrationSource` for owned `EmbeddedMigrations` only, and they are not
/// `Clone`; this lets the static sets be run by reference.
struct Borrowed(&'static EmbeddedMigrations);

impl MigrationSource<Pg> for Borrowed {
    fn migrations(
        &self,
    ) -> diesel::migration::Result<Vec<Box<dyn diesel::migration::Migration<Pg>>>> {
        self.0.migrations()
    }
}
