//! PostgreSQL access through diesel-async: a deadpool pool and embedded migrations.

use diesel::{migration::MigrationSource, pg::Pg};
use diesel_async::{
    async_connection_wrapper::AsyncConnectionWrapper,
    pooled_connection::{deadpool::Pool, AsyncDieselConnectionManager},
    AsyncPgConnection, RunQueryDsl,
};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};

pub type PgPool = Pool<AsyncPgConnection>;

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
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(url);
    Pool::builder(manager)
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
