//! The publication and the replication slot the relay reads, and what it asks PostgreSQL about
//! them. Every statement runs on the leader's connection, so only the leader touches the slot.

use diesel::{
    sql_types::{BigInt, Nullable, Text},
    OptionalExtension, QueryableByName,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

type Result<T> = std::result::Result<T, diesel::result::Error>;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Bytes {
    #[diesel(sql_type = Nullable<BigInt>)]
    bytes: Option<i64>,
}

async fn count(conn: &mut AsyncPgConnection, sql: &str, name: &str) -> Result<i64> {
    Ok(diesel::sql_query(sql)
        .bind::<Text, _>(name)
        .get_result::<Count>(conn)
        .await?
        .n)
}

/// Creates the publication (inserts into `outbox` only) and the slot when they do not exist;
/// true when the slot was created now. A new slot is recorded as not yet drained.
pub async fn ensure(conn: &mut AsyncPgConnection, publication: &str, slot: &str) -> Result<bool> {
    let publications = "SELECT count(*) AS n FROM pg_publication WHERE pubname = $1";
    if count(conn, publications, publication).await? == 0 {
        // Identifiers cannot be bound; the name is checked by the config's parser.
        diesel::sql_query(format!(
            "CREATE PUBLICATION \"{publication}\" FOR TABLE outbox WITH (publish = 'insert')"
        ))
        .execute(conn)
        .await?;
        tracing::info!(publication, "created the outbox publication");
    }
    let slots = "SELECT count(*) AS n FROM pg_replication_slots WHERE slot_name = $1";
    if count(conn, slots, slot).await? > 0 {
        return Ok(false);
    }
    diesel::sql_query("SELECT 1 AS n FROM pg_create_logical_replication_slot($1, 'pgoutput')")
        .bind::<Text, _>(slot)
        .execute(conn)
        .await?;
    diesel::sql_query(
        "INSERT INTO outbox_capture_slots (slot_name) VALUES ($1) \
         ON CONFLICT (slot_name) DO UPDATE SET created_at = now(), drained_at = NULL",
    )
    .bind::<Text, _>(slot)
    .execute(conn)
    .await?;
    tracing::info!(
        slot,
        "created the replication slot; publishing what the outbox holds first"
    );
    Ok(true)
}

/// Whether what the table held when the slot was made is yet to be published (also for a slot
/// made by hand, which the relay never drained).
pub async fn needs_drain(conn: &mut AsyncPgConnection, slot: &str) -> Result<bool> {
    let drained = "SELECT count(*) AS n FROM outbox_capture_slots \
                   WHERE slot_name = $1 AND drained_at IS NOT NULL";
    Ok(count(conn, drained, slot).await? == 0)
}

pub async fn mark_drained(conn: &mut AsyncPgConnection, slot: &str) -> Result<()> {
    diesel::sql_query(
        "INSERT INTO outbox_capture_slots (slot_name, drained_at) VALUES ($1, now()) \
         ON CONFLICT (slot_name) DO UPDATE SET drained_at = now()",
    )
    .bind::<Text, _>(slot)
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends a reader still holding the slot (a leader that died without PostgreSQL noticing yet):
/// whoever holds the leader lock is the only rightful reader.
pub async fn free(conn: &mut AsyncPgConnection, slot: &str) -> Result<()> {
    let ended = count(
        conn,
        "SELECT count(pg_terminate_backend(active_pid)) AS n FROM pg_replication_slots \
         WHERE slot_name = $1 AND active_pid IS NOT NULL",
        slot,
    )
    .await?;
    if ended > 0 {
        tracing::warn!(slot, "ended a stale reader of the replication slot");
    }
    Ok(())
}

/// Write-ahead log the slot keeps from being recycled, in bytes.
pub async fn retained_bytes(conn: &mut AsyncPgConnection, slot: &str) -> Result<Option<i64>> {
    Ok(diesel::sql_query(
        "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint AS bytes \
         FROM pg_replication_slots WHERE slot_name = $1",
    )
    .bind::<Text, _>(slot)
    .get_result::<Bytes>(conn)
    .await
    .optional()?
    .and_then(|b| b.bytes))
}

/// The prefix of the relay's heartbeat messages in the log.
pub const HEARTBEAT: &str = "outbox-relay-heartbeat";

/// Writes a heartbeat into the log (not into any table): when it comes back on the stream with
/// nothing in flight, the relay confirms its position, so a quiet database, or one busy only
/// with other tables, does not make the slot pin the log.
pub async fn heartbeat(conn: &mut AsyncPgConnection) -> Result<()> {
    diesel::sql_query(format!(
        "SELECT 1 AS n FROM pg_logical_emit_message(false, '{HEARTBEAT}', '')"
    ))
    .execute(conn)
    .await?;
    Ok(())
}
