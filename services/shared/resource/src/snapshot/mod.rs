//! Snapshots: the current state of a resource's live rows as `r` events, on demand, while
//! writes go on.
//!
//! Rows loaded by SQL, or written before the platform ran, have no events; a new consumer may
//! need everything. A snapshot walks the live rows (all of them, a key range, or a listing
//! filter) in id order, one chunk per transaction. Each chunk locks its rows `FOR UPDATE`,
//! records one `r` event per row with its current image and version, and advances the
//! snapshot's `last_id` in the same transaction, so:
//! - a writer of one of those rows waits for the chunk (or the chunk for it): per key, the `r`
//!   event sits between the events of the versions before and after it, in outbox order and so
//!   on the topic;
//! - a crash, a restart or a second API instance resumes after the last committed chunk and
//!   never emits a finished chunk again (the chunk also locks the snapshot's own row, `SKIP
//!   LOCKED`, so two runners never take the same chunk).
//!
//! Consumers already treat `r` by version: the replicator upserts under its version guard, the
//! notifier mails nothing, the order-processor ignores it.

mod http;
mod runner;

pub use http::{router, SnapshotList};
pub use runner::Runner;

use crate::http::Api;
use crate::store::{Conn, StoreError};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use runtime::db::PgPool;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use utoipa::ToSchema;
use uuid::Uuid;
use web::FieldErrors;

diesel::table! {
    snapshots (id) {
        id -> Uuid,
        aggregate -> Text,
        state -> Text,
        filter -> Jsonb,
        from_id -> Nullable<Uuid>,
        to_id -> Nullable<Uuid>,
        chunk_size -> Int4,
        last_id -> Nullable<Uuid>,
        rows_done -> Int8,
        rows_total -> Int8,
        chunks_done -> Int8,
        error -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
    }
}

/// Snapshot options every API flattens into its config.
#[derive(Debug, Clone, clap::Args)]
pub struct SnapshotArgs {
    /// Rows per chunk (one transaction) when a request names no `chunk_size`.
    #[arg(long, env = "SNAPSHOT_CHUNK_SIZE", default_value_t = 1000)]
    pub snapshot_chunk_size: i32,
    /// A pause between chunks, in milliseconds, to spare a busy database.
    #[arg(long, env = "SNAPSHOT_CHUNK_PAUSE_MS", default_value = "0", value_parser = runtime::config::millis)]
    pub snapshot_chunk_pause: Duration,
}

impl Default for SnapshotArgs {
    fn default() -> Self {
        Self {
            snapshot_chunk_size: 1000,
            snapshot_chunk_pause: Duration::ZERO,
        }
    }
}

/// The largest chunk a request may ask for: one transaction holds that many row locks.
pub const MAX_CHUNK_SIZE: i32 = 10_000;

/// Where a snapshot is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Running,
    Paused,
    Cancelled,
    Done,
    /// Its filter no longer parses; `error` says why.
    Failed,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Running => "running",
            State::Paused => "paused",
            State::Cancelled => "cancelled",
            State::Done => "done",
            State::Failed => "failed",
        }
    }

    fn parse(s: &str) -> State {
        match s {
            "running" => State::Running,
            "paused" => State::Paused,
            "cancelled" => State::Cancelled,
            "done" => State::Done,
            _ => State::Failed,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = snapshots)]
struct Row {
    id: Uuid,
    aggregate: String,
    state: String,
    filter: serde_json::Value,
    from_id: Option<Uuid>,
    to_id: Option<Uuid>,
    chunk_size: i32,
    last_id: Option<Uuid>,
    rows_done: i64,
    rows_total: i64,
    chunks_done: i64,
    error: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
}

/// A snapshot and its progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Snapshot {
    pub id: Uuid,
    /// The aggregate type its events carry (`customer`).
    pub aggregate: String,
    pub state: State,
    /// The listing filters it was narrowed by (`{"genre": "drama"}`); empty for all rows.
    #[schema(value_type = HashMap<String, String>)]
    pub filter: serde_json::Value,
    /// First id of the key range (inclusive), if one was given.
    pub from_id: Option<Uuid>,
    /// Last id of the key range (inclusive), if one was given.
    pub to_id: Option<Uuid>,
    pub chunk_size: i32,
    /// The last id emitted: where a restart resumes.
    pub last_id: Option<Uuid>,
    /// Rows emitted as `r` events so far.
    pub rows_done: i64,
    /// Live rows in scope when it started (rows deleted meanwhile are skipped, so `rows_done`
    /// may end below it).
    pub rows_total: i64,
    pub chunks_done: i64,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<Row> for Snapshot {
    fn from(row: Row) -> Self {
        Self {
            id: row.id,
            aggregate: row.aggregate,
            state: State::parse(&row.state),
            filter: row.filter,
            from_id: row.from_id,
            to_id: row.to_id,
            chunk_size: row.chunk_size,
            last_id: row.last_id,
            rows_done: row.rows_done,
            rows_total: row.rows_total,
            chunks_done: row.chunks_done,
            error: row.error,
            created_at: row.created_at,
            updated_at: row.updated_at,
            finished_at: row.finished_at,
        }
    }
}

/// What to snapshot: every field is optional, `{}` (or no body) means all live rows.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotRequest {
    /// Listing filters, as the collection's query parameters take them (a number may be given
    /// as a JSON number).
    #[serde(default)]
    pub filter: BTreeMap<String, serde_json::Value>,
    /// Only ids from this one (inclusive).
    pub from_id: Option<Uuid>,
    /// Only ids up to this one (inclusive).
    pub to_id: Option<Uuid>,
    /// Rows per chunk, 1 to 10000 (default from `SNAPSHOT_CHUNK_SIZE`).
    pub chunk_size: Option<i32>,
}

/// Which rows a snapshot covers: ids in `[from, to]` after `after`, matching `filter`.
#[derive(Debug, Clone, Copy)]
pub struct KeyRange {
    pub from: Option<Uuid>,
    pub to: Option<Uuid>,
    /// The last id already emitted.
    pub after: Option<Uuid>,
}

/// A change of state a client asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Pause,
    Resume,
    Cancel,
}

impl Transition {
    /// The states it leaves, and the one it enters.
    fn rule(self) -> (&'static [State], State) {
        match self {
            Transition::Pause => (&[State::Running], State::Paused),
            Transition::Resume => (&[State::Paused], State::Running),
            Transition::Cancel => (&[State::Running, State::Paused], State::Cancelled),
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Transition::Pause => "paused",
            Transition::Resume => "resumed",
            Transition::Cancel => "cancelled",
        }
    }
}

/// The snapshots of resource `R`: started and steered over HTTP, run by a [`Runner`].
pub struct Snapshots<R> {
    pool: PgPool,
    /// Wakes the runner when a snapshot starts or resumes.
    wake: Arc<Notify>,
    args: SnapshotArgs,
    of: PhantomData<fn() -> R>,
}

impl<R> Clone for Snapshots<R> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            wake: self.wake.clone(),
            args: self.args.clone(),
            of: PhantomData,
        }
    }
}

/// What one chunk did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Emitted this many rows (0 if a chunk's rows were all deleted meanwhile).
    Chunk(usize),
    /// Reached the end: the snapshot is done.
    Finished,
    /// No running snapshot (or another runner holds it).
    Idle,
}

impl<R: Api> Snapshots<R> {
    pub fn new(pool: PgPool, args: SnapshotArgs) -> Self {
        Self {
            pool,
            wake: Arc::new(Notify::new()),
            args,
            of: PhantomData,
        }
    }

    /// The runner that works through this resource's snapshots.
    pub fn runner(&self) -> Runner<R> {
        Runner::new(self.clone())
    }

    async fn conn(&self) -> Result<runtime::db::PgConn, StoreError> {
        crate::store::checkout(&self.pool).await
    }

    /// Starts a snapshot: counts the rows in scope and leaves it running for the runner.
    pub async fn start(&self, request: SnapshotRequest) -> Result<Snapshot, StoreError> {
        let chunk_size = request.chunk_size.unwrap_or(self.args.snapshot_chunk_size);
        let mut errors = FieldErrors::new();
        let params = filter_params(&request.filter, &mut errors);
        if !(1..=MAX_CHUNK_SIZE).contains(&chunk_size) {
            errors.insert(
                "chunk_size".to_owned(),
                format!("must be from 1 to {MAX_CHUNK_SIZE}"),
            );
        }
        let filter = parse_filter::<R>(&params, errors)?;
        let range = KeyRange {
            from: request.from_id,
            to: request.to_id,
            after: None,
        };
        let mut conn = self.conn().await?;
        let rows_total = R::count_in(&mut conn, &filter, range).await?;
        let now = Utc::now();
        let row: Row = diesel::insert_into(snapshots::table)
            .values((
                snapshots::id.eq(Uuid::now_v7()),
                snapshots::aggregate.eq(R::AGGREGATE.name),
                snapshots::state.eq(State::Running.as_str()),
                snapshots::filter
                    .eq(serde_json::to_value(&params).expect("a map of strings is JSON")),
                snapshots::from_id.eq(request.from_id),
                snapshots::to_id.eq(request.to_id),
                snapshots::chunk_size.eq(chunk_size),
                snapshots::rows_total.eq(rows_total),
                snapshots::created_at.eq(now),
                snapshots::updated_at.eq(now),
            ))
            .returning(Row::as_returning())
            .get_result(&mut conn)
            .await?;
        tracing::info!(snapshot = %row.id, aggregate = R::AGGREGATE.name, rows_total, chunk_size, "snapshot started");
        self.wake.notify_one();
        Ok(row.into())
    }

    pub async fn get(&self, id: Uuid) -> Result<Snapshot, StoreError> {
        let mut conn = self.conn().await?;
        mine::<R>()
            .filter(snapshots::id.eq(id))
            .select(Row::as_select())
            .first(&mut conn)
            .await
            .optional()?
            .map(Snapshot::from)
            .ok_or(not_found(id))
    }

    /// The newest `limit` snapshots of this resource.
    pub async fn list(&self, limit: i64) -> Result<Vec<Snapshot>, StoreError> {
        let mut conn = self.conn().await?;
        let rows: Vec<Row> = mine::<R>()
            .order(snapshots::created_at.desc())
            .limit(limit)
            .select(Row::as_select())
            .load(&mut conn)
            .await?;
        Ok(rows.into_iter().map(Snapshot::from).collect())
    }

    /// Pauses, resumes or cancels a snapshot; 409 from a state the change cannot leave. The
    /// update waits for a chunk in progress (it holds the row), so none runs after a pause.
    pub async fn change(&self, id: Uuid, to: Transition) -> Result<Snapshot, StoreError> {
        let (from, next) = to.rule();
        let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
        let mut conn = self.conn().await?;
        let changed: Option<Row> = diesel::update(
            snapshots::table
                .filter(snapshots::aggregate.eq(R::AGGREGATE.name))
                .filter(snapshots::id.eq(id))
                .filter(snapshots::state.eq_any(&from)),
        )
        .set((
            snapshots::state.eq(next.as_str()),
            snapshots::updated_at.eq(Utc::now()),
            snapshots::finished_at.eq((next == State::Cancelled).then(Utc::now)),
        ))
        .returning(Row::as_returning())
        .get_result(&mut conn)
        .await
        .optional()?;
        if let Some(row) = changed {
            tracing::info!(snapshot = %id, "snapshot {}", to.verb());
            if next == State::Running {
                self.wake.notify_one();
            }
            return Ok(row.into());
        }
        let current = self.get(id).await?;
        Err(StoreError::Conflict {
            message: format!(
                "snapshot {id} is {} and cannot be {}",
                current.state.as_str(),
                to.verb()
            ),
            details: [("state".to_owned(), current.state.as_str().to_owned())].into(),
        })
    }

    /// Emits the next chunk of the oldest running snapshot, in one transaction.
    pub async fn step(&self) -> Result<Step, StoreError> {
        let mut conn = self.conn().await?;
        let step = conn
            .transaction(async |conn| {
                // SKIP LOCKED: a snapshot another runner is working on is not ours to wait for.
                let Some(snapshot) = snapshots::table
                    .filter(snapshots::aggregate.eq(R::AGGREGATE.name))
                    .filter(snapshots::state.eq(State::Running.as_str()))
                    .order(snapshots::created_at.asc())
                    .select(Row::as_select())
                    .for_update()
                    .skip_locked()
                    .first(conn)
                    .await
                    .optional()?
                else {
                    return Ok::<_, StoreError>(Step::Idle);
                };
                chunk::<R>(conn, &snapshot).await
            })
            .await?;
        if let Step::Chunk(rows) = step {
            metrics::counter!("snapshot_rows_total", "aggregate" => R::AGGREGATE.name)
                .increment(rows as u64);
        }
        Ok(step)
    }
}

/// One chunk of `snapshot`: the next ids in scope, their rows locked and emitted, the snapshot
/// advanced, all in the caller's transaction.
async fn chunk<R: Api>(conn: &mut Conn, snapshot: &Row) -> Result<Step, StoreError> {
    let params: BTreeMap<String, String> =
        serde_json::from_value(snapshot.filter.clone()).unwrap_or_default();
    let filter = match parse_filter::<R>(&params, FieldErrors::new()) {
        Ok(filter) => filter,
        Err(e) => return finish(conn, snapshot.id, State::Failed, Some(e.to_string())).await,
    };
    let range = KeyRange {
        from: snapshot.from_id,
        to: snapshot.to_id,
        after: snapshot.last_id,
    };
    let ids = R::ids_in(conn, &filter, range, i64::from(snapshot.chunk_size)).await?;
    let Some(&last) = ids.last() else {
        return finish(conn, snapshot.id, State::Done, None).await;
    };
    let rows = R::lock_rows(conn, &ids).await?;
    R::AGGREGATE
        .record_reads(
            conn,
            rows.iter()
                .map(|row| (R::key(row).1.to_string(), R::version(row), row)),
        )
        .await?;
    diesel::update(snapshots::table.find(snapshot.id))
        .set((
            snapshots::last_id.eq(last),
            snapshots::rows_done.eq(snapshots::rows_done + rows.len() as i64),
            snapshots::chunks_done.eq(snapshots::chunks_done + 1),
            snapshots::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await?;
    Ok(Step::Chunk(rows.len()))
}

async fn finish(
    conn: &mut Conn,
    id: Uuid,
    state: State,
    error: Option<String>,
) -> Result<Step, StoreError> {
    let now = Utc::now();
    diesel::update(snapshots::table.find(id))
        .set((
            snapshots::state.eq(state.as_str()),
            snapshots::error.eq(error),
            snapshots::updated_at.eq(now),
            snapshots::finished_at.eq(now),
        ))
        .execute(conn)
        .await?;
    tracing::info!(snapshot = %id, state = state.as_str(), "snapshot ended");
    Ok(Step::Finished)
}

/// This resource's snapshots (one database may hold several resources').
fn mine<R: Api>() -> snapshots::BoxedQuery<'static, diesel::pg::Pg> {
    snapshots::table
        .filter(snapshots::aggregate.eq(R::AGGREGATE.name))
        .into_boxed()
}

fn not_found(id: Uuid) -> StoreError {
    StoreError::NotFound {
        kind: "snapshot",
        id,
    }
}

/// A request's filter values as the query strings a listing takes.
fn filter_params(
    filter: &BTreeMap<String, serde_json::Value>,
    errors: &mut FieldErrors,
) -> BTreeMap<String, String> {
    let mut params = BTreeMap::new();
    for (name, value) in filter {
        let text = match value {
            serde_json::Value::String(s) => s.clone(),
            // JSON Schema counts 30.0 as an integer, and so does a listing's `30`.
            serde_json::Value::Number(n) => match n.as_f64() {
                Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e15 => {
                    format!("{}", f as i64)
                }
                _ => n.to_string(),
            },
            _ => {
                errors.insert(
                    format!("filter.{name}"),
                    "must be a string or a number".to_owned(),
                );
                continue;
            }
        };
        params.insert(name.clone(), text);
    }
    params
}

/// The listing filter `params` name, adding every problem (an unknown filter, a bad value) to
/// `errors`, which fail it as a 422 naming each field. A reversed key range is no error: it
/// holds no rows.
fn parse_filter<R: Api>(
    params: &BTreeMap<String, String>,
    mut errors: FieldErrors,
) -> Result<R::Filter, StoreError> {
    for name in params.keys() {
        if !R::FILTERS.contains(&name.as_str()) {
            let known = if R::FILTERS.is_empty() {
                "none".to_owned()
            } else {
                R::FILTERS.join(", ")
            };
            errors.insert(
                format!("filter.{name}"),
                format!("unknown filter; this resource filters by: {known}"),
            );
        }
    }
    let params: HashMap<String, String> =
        params.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let mut filter_errors = FieldErrors::new();
    let filter = R::filter(&params, &mut filter_errors);
    errors.extend(
        filter_errors
            .into_iter()
            .map(|(name, message)| (format!("filter.{name}"), message)),
    );
    if errors.is_empty() {
        Ok(filter)
    } else {
        Err(StoreError::Invalid(errors))
    }
}
