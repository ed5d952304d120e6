//! The transactional outbox.
//!
//! APIs call [`record`] inside the transaction that changes a row, so the change and its event
//! commit or roll back together. The relay reads with [`fetch_unpublished`], publishes, and then
//! calls [`mark_published`]; [`prune_published`] keeps the table small.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations};
use events::{ChangeEvent, Op, Source};
use serde_json::Value;
use uuid::Uuid;

/// The outbox table's migrations; run them beside the owning service's own.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// The PostgreSQL channel the outbox trigger notifies on commit.
pub const NOTIFY_CHANNEL: &str = "outbox";

diesel::table! {
    outbox (id) {
        id -> Int8,
        event_id -> Uuid,
        aggregate_type -> Text,
        aggregate_id -> Text,
        event_type -> Text,
        topic -> Text,
        payload -> Jsonb,
        created_at -> Timestamptz,
        published_at -> Nullable<Timestamptz>,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("outbox query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("event could not be serialized: {0}")]
    Serialize(#[from] serde_json::Error),
}

/// What a writer knows about a change; [`record`] adds the id, transaction and timestamps.
#[derive(Debug, Clone)]
pub struct Change {
    pub service: &'static str,
    pub table: &'static str,
    pub topic: &'static str,
    pub aggregate_type: &'static str,
    pub aggregate_id: String,
    pub op: Op,
    pub version: i64,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

#[derive(Insertable)]
#[diesel(table_name = outbox)]
struct NewRow<'a> {
    event_id: Uuid,
    aggregate_type: &'a str,
    aggregate_id: &'a str,
    event_type: &'a str,
    topic: &'a str,
    payload: Value,
}

// Function calls rather than SQL literals, because diesel caches the prepared statement only
// for the former: a literal costs a prepare round trip on every write.
diesel::define_sql_function! {
    /// The transaction's 64-bit id, epoch included (the value of `pg_current_xact_id()`).
    fn txid_current() -> BigInt;
}
diesel::define_sql_function! {
    /// The transaction's start time, `now()`.
    fn transaction_timestamp() -> Timestamptz;
}

/// Where one kind of aggregate lives and where its change events go: what every write of it
/// records in the outbox besides the images themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aggregate {
    /// The service writing it (`source.service`).
    pub service: &'static str,
    /// `aggregate_type` of its events, and the prefix of their type (`movie.created`).
    pub name: &'static str,
    pub table: &'static str,
    pub topic: &'static str,
}

impl Aggregate {
    /// Records a change of aggregate `id` at `version`, with its images as the API returns
    /// them, inside the caller's transaction.
    pub async fn record<T: serde::Serialize>(
        &self,
        conn: &mut AsyncPgConnection,
        id: impl ToString,
        op: Op,
        version: i64,
        before: Option<&T>,
        after: Option<&T>,
    ) -> Result<ChangeEvent, OutboxError> {
        let image = |row: Option<&T>| row.map(serde_json::to_value).transpose();
        let change = self.change(id.to_string(), op, version, image(before)?, image(after)?);
        record(conn, change).await
    }

    /// Records an `r` event for each of `rows` (id, version, image) in one statement: a
    /// snapshot's chunk, inside its transaction.
    pub async fn record_reads<'a, T: serde::Serialize + 'a>(
        &self,
        conn: &mut AsyncPgConnection,
        rows: impl IntoIterator<Item = (String, i64, &'a T)>,
    ) -> Result<usize, OutboxError> {
        let changes = rows
            .into_iter()
            .map(|(id, version, row)| {
                Ok(self.change(
                    id,
                    Op::Read,
                    version,
                    None,
                    Some(serde_json::to_value(row)?),
                ))
            })
            .collect::<Result<Vec<_>, OutboxError>>()?;
        Ok(record_all(conn, changes).await?.len())
    }

    fn change(
        &self,
        aggregate_id: String,
        op: Op,
        version: i64,
        before: Option<Value>,
        after: Option<Value>,
    ) -> Change {
        Change {
            service: self.service,
            table: self.table,
            topic: self.topic,
            aggregate_type: self.name,
            aggregate_id,
            op,
            version,
            before,
            after,
        }
    }
}

/// Writes the event for `change` into the outbox. Must run inside the caller's transaction:
/// that is what makes the row change and its event atomic.
pub async fn record(
    conn: &mut AsyncPgConnection,
    change: Change,
) -> Result<ChangeEvent, OutboxError> {
    let mut events = record_all(conn, vec![change]).await?;
    Ok(events.remove(0))
}

/// Writes the events for `changes` into the outbox in one statement, in order (a snapshot's
/// chunk): one round trip instead of one per event. Inside the caller's transaction.
pub async fn record_all(
    conn: &mut AsyncPgConnection,
    changes: Vec<Change>,
) -> Result<Vec<ChangeEvent>, OutboxError> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let (tx_id, committed_at): (i64, DateTime<Utc>) =
        diesel::select((txid_current(), transaction_timestamp()))
            .get_result(conn)
            .await?;
    let events: Vec<(ChangeEvent, &'static str)> = changes
        .into_iter()
        .map(|change| {
            let topic = change.topic;
            (event(change, tx_id, committed_at), topic)
        })
        .collect();
    let rows = events
        .iter()
        .map(|(event, topic)| {
            Ok(NewRow {
                event_id: event.id,
                aggregate_type: &event.aggregate_type,
                aggregate_id: &event.aggregate_id,
                event_type: &event.event_type,
                topic,
                payload: serde_json::to_value(event)?,
            })
        })
        .collect::<Result<Vec<_>, OutboxError>>()?;
    // Multi-row VALUES keep their order, and so do the ids the sequence hands them.
    diesel::insert_into(outbox::table)
        .values(rows)
        .execute(conn)
        .await?;
    Ok(events.into_iter().map(|(event, _)| event).collect())
}

fn event(change: Change, tx_id: i64, committed_at: DateTime<Utc>) -> ChangeEvent {
    ChangeEvent {
        // v7 ids sort by time, which keeps the unique index append-friendly.
        id: Uuid::now_v7(),
        event_type: ChangeEvent::type_name(change.aggregate_type, change.op),
        op: change.op,
        aggregate_type: change.aggregate_type.to_owned(),
        aggregate_id: change.aggregate_id,
        version: change.version,
        before: change.before,
        after: change.after,
        source: Source {
            service: change.service.to_owned(),
            table: change.table.to_owned(),
            tx_id,
            committed_at,
        },
        occurred_at: Utc::now(),
    }
}

/// An event waiting to be published.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct PendingEvent {
    pub id: i64,
    pub event_id: Uuid,
    pub aggregate_id: String,
    pub event_type: String,
    pub topic: String,
    pub payload: Value,
    pub created_at: DateTime<Utc>,
}

/// The oldest `limit` unpublished events, in id order (per aggregate: commit order), leaving
/// out `in_flight`: events already handed to the producer but not yet marked published.
pub async fn fetch_unpublished(
    conn: &mut AsyncPgConnection,
    limit: i64,
    in_flight: &[i64],
) -> Result<Vec<PendingEvent>, OutboxError> {
    let mut query = outbox::table
        .filter(outbox::published_at.is_null())
        .order(outbox::id.asc())
        .limit(limit)
        .select(PendingEvent::as_select())
        .into_boxed();
    if !in_flight.is_empty() {
        query = query.filter(outbox::id.ne_all(in_flight));
    }
    Ok(query.load(conn).await?)
}

pub async fn mark_published(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
) -> Result<usize, OutboxError> {
    Ok(diesel::update(outbox::table.filter(outbox::id.eq_any(ids)))
        .set(outbox::published_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?)
}

/// Deletes the events `ids` (published from the write-ahead log, which still carries them).
pub async fn delete(conn: &mut AsyncPgConnection, ids: &[i64]) -> Result<usize, OutboxError> {
    Ok(diesel::delete(outbox::table.filter(outbox::id.eq_any(ids)))
        .execute(conn)
        .await?)
}

/// Deletes events published before `cutoff`; returns how many.
pub async fn prune_published(
    conn: &mut AsyncPgConnection,
    cutoff: DateTime<Utc>,
) -> Result<usize, OutboxError> {
    Ok(
        diesel::delete(outbox::table.filter(outbox::published_at.lt(cutoff)))
            .execute(conn)
            .await?,
    )
}

/// How far behind the relay is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backlog {
    pub rows: i64,
    pub oldest: Option<DateTime<Utc>>,
}

pub async fn backlog(conn: &mut AsyncPgConnection) -> Result<Backlog, OutboxError> {
    let (rows, oldest) = outbox::table
        .filter(outbox::published_at.is_null())
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::min(outbox::created_at),
        ))
        .get_result::<(i64, Option<DateTime<Utc>>)>(conn)
        .await?;
    Ok(Backlog { rows, oldest })
}
