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
pub struct Manager(AsyncDieselConnectionManager<AsyncPgConnection>);

impl managed::Manager for Manager {
    type Type = AsyncPgConnection;
    type Error = PoolError;

    async fn create(&self) -> Result<AsyncPgConnection, PoolError> {
        self.0.create().await
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
}

pub fn pool(url: &str, max_size: usize) -> Result<PgPool, DbError> {
    let manager = Manager(AsyncDieselConnectionManager::new(url));
    managed::Pool::builder(manager)
        .max_size(max_size)
        .build()
        .map_err(|e| DbError::Pool(e.to_string()))
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

/// A readiness probe: one round trip through the pool.
pub async fn ping(pool: &PgPool) -> Result<(), DbError> {
    let mut conn = pool
        .get()
        .await
        .map_err(|e| DbError::Unavailable(e.to_string()))?;
    diesel::sql_query("SELECT 1")
        .execute(&mut conn)
        .await
        .map_err(|e| DbError::Unavailable(e.to_string()))?;
    Ok(())
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
