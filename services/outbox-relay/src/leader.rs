//! Leader election: the relay that holds a session-level advisory lock on a dedicated
//! connection publishes; others wait as hot standbys. PostgreSQL releases the lock when that
//! connection ends, so a killed leader (even by SIGKILL) hands over without any timeout of ours.

use diesel::{sql_types::BigInt, QueryableByName};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use runtime::Shutdown;
use std::time::Duration;

#[derive(QueryableByName)]
struct Acquired {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    locked: bool,
}

/// Waits until this instance holds the lock and returns the connection that holds it, or
/// `None` when shutdown comes first.
pub async fn acquire(
    url: &str,
    key: i64,
    retry: Duration,
    shutdown: &Shutdown,
) -> Option<AsyncPgConnection> {
    let mut announced = false;
    loop {
        match try_acquire(url, key).await {
            Ok(Some(conn)) => {
                metrics::gauge!("relay_standby").set(0.0);
                return Some(conn);
            }
            Ok(None) if !announced => {
                tracing::info!(key, "another relay is publishing; waiting as standby");
                metrics::gauge!("relay_standby").set(1.0);
                announced = true;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cannot reach the outbox database; retrying"),
        }
        tokio::select! {
            _ = shutdown.requested() => return None,
            _ = tokio::time::sleep(retry) => {}
        }
    }
}

async fn try_acquire(url: &str, key: i64) -> Result<Option<AsyncPgConnection>, anyhow::Error> {
    let mut conn = AsyncPgConnection::establish(url).await?;
    let acquired: Acquired = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS locked")
        .bind::<BigInt, _>(key)
        .get_result(&mut conn)
        .await?;
    Ok(acquired.locked.then_some(conn))
}
