//! The store half: every write is one transaction holding the row change and its outbox event,
//! so a failure leaves neither.
//!
//! Writers of one aggregate serialize on its row lock (`SELECT … FOR UPDATE`, [`Lock::Update`]):
//! the second cannot read `before`, bump the version or draw an outbox id until the first has
//! committed. That is what makes outbox order equal commit order per aggregate.

use crate::snapshot::KeyRange;
use chrono::{DateTime, Utc};
use diesel::result::{DatabaseErrorKind, Error as DieselError, QueryResult};
use diesel_async::AsyncConnection;
use events::Op;
use outbox::{Aggregate, OutboxError};
use runtime::db::{PgConn, PgPool};
use serde::Serialize;
use std::future::Future;
use std::marker::PhantomData;
use uuid::Uuid;
use web::etag::IfMatch;
use web::paging::{Page, PageRequest};
use web::FieldErrors;

pub use diesel_async::AsyncPgConnection as Conn;

/// How [`Collection::find`] reads a live row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// A plain read.
    None,
    /// `FOR UPDATE`: the row stays this transaction's until it ends.
    Update,
}

/// A table of rows an API serves by id and in pages, newest first.
pub trait Collection: Send + Sync + Sized + 'static {
    /// The row as the API returns it and as change events carry it (`before` / `after`).
    type Row: Serialize + Send + Sync + 'static;
    /// What a listing narrows by, besides paging (`()` for none).
    type Filter: Default + Send + Sync;
    const AGGREGATE: Aggregate;
    /// The counter every committed write increments, labelled `aggregate` and `op`.
    const WRITES_METRIC: &'static str;
    /// Whether rows carry a version (their ETag); immutable rows do not need one.
    const VERSIONED: bool = true;

    /// The row's id and creation time: its key in a newest-first listing.
    fn key(row: &Self::Row) -> (DateTime<Utc>, Uuid);
    /// The row's version; 1 for rows that never change.
    fn version(row: &Self::Row) -> i64;
    /// The live row `id`, if there is one.
    fn find(
        conn: &mut Conn,
        id: Uuid,
        lock: Lock,
    ) -> impl Future<Output = QueryResult<Option<Self::Row>>> + Send;
    /// Up to `page.limit + 1` live rows matching `filter`, newest first, from `page.start`.
    fn page(
        conn: &mut Conn,
        page: PageRequest,
        filter: &Self::Filter,
    ) -> impl Future<Output = QueryResult<Vec<Self::Row>>> + Send;
    /// How many live rows match `filter` in `range`: a snapshot's total.
    fn count_in(
        conn: &mut Conn,
        filter: &Self::Filter,
        range: KeyRange,
    ) -> impl Future<Output = QueryResult<i64>> + Send;
    /// The ids of up to `limit` live rows matching `filter` in `range`, ascending: a snapshot's
    /// next chunk.
    fn ids_in(
        conn: &mut Conn,
        filter: &Self::Filter,
        range: KeyRange,
        limit: i64,
    ) -> impl Future<Output = QueryResult<Vec<Uuid>>> + Send;
    /// The live rows among `ids`, locked `FOR UPDATE` in id order.
    fn lock_rows(
        conn: &mut Conn,
        ids: &[Uuid],
    ) -> impl Future<Output = QueryResult<Vec<Self::Row>>> + Send;
}

/// A collection clients add rows to.
pub trait Creatable: Collection {
    /// The request body of a create (and of a replace).
    type Input: Send;
    /// Valid fields, parsed from an input.
    type Fields: Send + Sync;

    fn parse(input: Self::Input) -> Result<Self::Fields, FieldErrors>;
    /// Inserts a row of `fields` at version 1.
    fn insert(
        conn: &mut Conn,
        fields: &Self::Fields,
    ) -> impl Future<Output = QueryResult<Self::Row>> + Send;

    /// A rule beyond the fields themselves, checked inside the write's transaction before it
    /// writes (the casts a movie names must be live).
    fn admit(
        _conn: &mut Conn,
        _fields: &Self::Fields,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        async { Ok(()) }
    }

    /// The error for a unique or foreign-key `constraint` that writing `fields` violated, when
    /// it is one a client can cause (an email already in use); `None` leaves it a fault.
    fn on_constraint(_constraint: &str, _fields: &Self::Fields) -> Option<StoreError> {
        None
    }
}

/// A collection whose rows change and are (softly) deleted.
pub trait Mutable: Creatable {
    /// A JSON merge patch of the fields.
    type Patch: Send + Sync;

    /// The row's current fields, re-parsed; stored rows were valid when written.
    fn fields(row: &Self::Row) -> Result<Self::Fields, FieldErrors>;
    /// `patch` applied to `current`.
    fn apply(patch: &Self::Patch, current: &Self::Fields) -> Result<Self::Fields, FieldErrors>;
    /// Sets every writable field of row `id` and bumps its version.
    fn write(
        conn: &mut Conn,
        id: Uuid,
        fields: &Self::Fields,
    ) -> impl Future<Output = QueryResult<Self::Row>> + Send;
    /// Marks row `id` deleted and bumps its version; returns the new version.
    fn soft_delete(conn: &mut Conn, id: Uuid) -> impl Future<Output = QueryResult<i64>> + Send;

    /// A rule a delete must pass, checked with the row locked (a cast that movies still name).
    fn admit_delete(
        _conn: &mut Conn,
        _row: &Self::Row,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        async { Ok(()) }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{kind} {id} not found")]
    NotFound { kind: &'static str, id: Uuid },
    #[error("version mismatch: current version is {current}")]
    VersionMismatch { current: i64 },
    /// Fields (or the rows they name) that cannot be written: 422.
    #[error("invalid fields: {0:?}")]
    Invalid(FieldErrors),
    /// A write that contradicts other rows (a unique key, a reference): 409.
    #[error("{message}")]
    Conflict {
        message: String,
        details: FieldErrors,
    },
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    #[error("database error: {0}")]
    Database(#[from] DieselError),
}

/// Reads and writes of one resource `R` in its database.
pub struct Store<R> {
    pool: PgPool,
    of: PhantomData<fn() -> R>,
}

impl<R> Clone for Store<R> {
    fn clone(&self) -> Self {
        Self::new(self.pool.clone())
    }
}

impl<R> Store<R> {
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            of: PhantomData,
        }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn conn(&self) -> Result<PgConn, StoreError> {
        checkout(&self.pool).await
    }
}

/// A pooled connection; none to be had (the database is down or every one is busy past the
/// checkout timeout) is [`StoreError::Unavailable`], a 503.
pub(crate) async fn checkout(pool: &PgPool) -> Result<PgConn, StoreError> {
    pool.get()
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))
}

impl<R: Collection> Store<R> {
    pub async fn get(&self, id: Uuid) -> Result<R::Row, StoreError> {
        let mut conn = self.conn().await?;
        R::find(&mut conn, id, Lock::None)
            .await?
            .ok_or(not_found::<R>(id))
    }

    /// Live rows matching `filter`, newest first: up to `page.limit` and whether more follow.
    pub async fn list(
        &self,
        page: PageRequest,
        filter: &R::Filter,
    ) -> Result<Page<R::Row>, StoreError> {
        let mut conn = self.conn().await?;
        let limit = page.limit;
        let rows = R::page(&mut conn, page, filter).await?;
        Ok(Page::from_rows(rows, limit))
    }
}

impl<R: Creatable> Store<R> {
    pub async fn create(&self, fields: R::Fields) -> Result<R::Row, StoreError> {
        let mut conn = self.conn().await?;
        conn.transaction(async |conn| {
            R::admit(conn, &fields).await?;
            let row = R::insert(conn, &fields)
                .await
                .map_err(|e| on_constraint::<R>(e, &fields))?;
            let (_, id) = R::key(&row);
            R::AGGREGATE
                .record(conn, id, Op::Create, 1, None, Some(&row))
                .await?;
            Ok(row)
        })
        .await
        .inspect(|_| count_write::<R>(Op::Create))
    }
}

impl<R: Mutable> Store<R> {
    /// Replaces the row's fields with `change(current)` if `if_match` allows.
    pub async fn update(
        &self,
        id: Uuid,
        if_match: &IfMatch,
        change: impl FnOnce(&R::Fields) -> Result<R::Fields, FieldErrors> + Send,
    ) -> Result<R::Row, StoreError> {
        let mut conn = self.conn().await?;
        conn.transaction(async |conn| {
            let before = lock_live::<R>(conn, id, if_match).await?;
            let current = R::fields(&before).map_err(StoreError::Invalid)?;
            let next = change(&current).map_err(StoreError::Invalid)?;
            R::admit(conn, &next).await?;
            let after = R::write(conn, id, &next)
                .await
                .map_err(|e| on_constraint::<R>(e, &next))?;
            R::AGGREGATE
                .record(
                    conn,
                    id,
                    Op::Update,
                    R::version(&after),
                    Some(&before),
                    Some(&after),
                )
                .await?;
            Ok(after)
        })
        .await
        .inspect(|_| count_write::<R>(Op::Update))
    }

    /// Soft-deletes the row; its delete event carries the last full image as `before`.
    pub async fn delete(&self, id: Uuid, if_match: &IfMatch) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        conn.transaction(async |conn| {
            let before = lock_live::<R>(conn, id, if_match).await?;
            R::admit_delete(conn, &before).await?;
            let version = R::soft_delete(conn, id).await?;
            R::AGGREGATE
                .record(conn, id, Op::Delete, version, Some(&before), None)
                .await?;
            Ok(())
        })
        .await
        .inspect(|_| count_write::<R>(Op::Delete))
    }
}

fn not_found<R: Collection>(id: Uuid) -> StoreError {
    StoreError::NotFound {
        kind: R::AGGREGATE.name,
        id,
    }
}

/// Locks the live row (serializing its writers) and checks `If-Match`.
async fn lock_live<R: Collection>(
    conn: &mut Conn,
    id: Uuid,
    if_match: &IfMatch,
) -> Result<R::Row, StoreError> {
    let current = R::find(conn, id, Lock::Update)
        .await?
        .ok_or(not_found::<R>(id))?;
    let version = R::version(&current);
    if !if_match.allows(version) {
        return Err(StoreError::VersionMismatch { current: version });
    }
    Ok(current)
}

/// The resource's own error for a unique or foreign-key violation it names; any other error
/// stays a database fault.
fn on_constraint<R: Creatable>(e: DieselError, fields: &R::Fields) -> StoreError {
    let named = match &e {
        DieselError::DatabaseError(
            DatabaseErrorKind::UniqueViolation | DatabaseErrorKind::ForeignKeyViolation,
            info,
        ) => info
            .constraint_name()
            .and_then(|constraint| R::on_constraint(constraint, fields)),
        _ => None,
    };
    named.unwrap_or(StoreError::Database(e))
}

fn count_write<R: Collection>(op: Op) {
    metrics::counter!(
        R::WRITES_METRIC,
        "aggregate" => R::AGGREGATE.name,
        "op" => op.past_tense()
    )
    .increment(1);
}

/// The queries of a table with the platform's columns (`id`, `version`, `created_at`,
/// `updated_at`, `deleted_at`), whose row type has `id`, `version` and `created_at` fields:
/// - `live_rows!(table, Row)` inside `impl Collection`: `key`, `version`, `find`, `page` and
///   the snapshot queries `count_in`, `ids_in`, `lock_rows` (with an optional
///   `|query, filter| …` that narrows a listing and a snapshot alike);
/// - `live_rows!(insert table, Row, columns)` inside `impl Creatable`: `insert`, at version 1;
/// - `live_rows!(update table, Row, columns)` inside `impl Mutable`: `write` (bumping the
///   version) and `soft_delete`.
///
/// `columns` turns `&Self::Fields` into the resource's writable columns (a struct deriving
/// `Insertable` and `AsChangeset`), so the two writes set the same columns from one place. The
/// caller has `diesel::prelude::*` and `diesel_async::RunQueryDsl` in scope.
#[macro_export]
macro_rules! live_rows {
    ($table:ident, $row:ty) => {
        $crate::live_rows!($table, $row, |query, _filter| query);
    };
    ($table:ident, $row:ty, |$query:ident, $filter:ident| $narrow:expr) => {
        fn key(row: &$row) -> (chrono::DateTime<chrono::Utc>, uuid::Uuid) {
            (row.created_at, row.id)
        }

        fn version(row: &$row) -> i64 {
            row.version
        }

        async fn find(
            conn: &mut $crate::Conn,
            id: uuid::Uuid,
            lock: $crate::Lock,
        ) -> diesel::QueryResult<Option<$row>> {
            let query = $table::table
                .filter($table::id.eq(id))
                .filter($table::deleted_at.is_null())
                .select(<$row>::as_select());
            match lock {
                $crate::Lock::None => query.first(conn).await.optional(),
                $crate::Lock::Update => query.for_update().first(conn).await.optional(),
            }
        }

        async fn page(
            conn: &mut $crate::Conn,
            page: web::paging::PageRequest,
            $filter: &Self::Filter,
        ) -> diesel::QueryResult<Vec<$row>> {
            let $query = $table::table
                .filter($table::deleted_at.is_null())
                .order(($table::created_at.desc(), $table::id.desc()))
                .limit(page.limit + 1)
                .select(<$row>::as_select())
                .into_boxed();
            let query = $narrow;
            web::starting_at!(query, $table, page.start)
                .load(conn)
                .await
        }

        async fn count_in(
            conn: &mut $crate::Conn,
            $filter: &Self::Filter,
            range: $crate::KeyRange,
        ) -> diesel::QueryResult<i64> {
            let $query = $table::table
                .filter($table::deleted_at.is_null())
                .select(diesel::dsl::count_star())
                .into_boxed();
            let query = $narrow;
            $crate::in_range!(query, $table, range)
                .get_result(conn)
                .await
        }

        async fn ids_in(
            conn: &mut $crate::Conn,
            $filter: &Self::Filter,
            range: $crate::KeyRange,
            limit: i64,
        ) -> diesel::QueryResult<Vec<uuid::Uuid>> {
            let $query = $table::table
                .filter($table::deleted_at.is_null())
                .order($table::id.asc())
                .limit(limit)
                .select($table::id)
                .into_boxed();
            let query = $narrow;
            $crate::in_range!(query, $table, range).load(conn).await
        }

        async fn lock_rows(
            conn: &mut $crate::Conn,
            ids: &[uuid::Uuid],
        ) -> diesel::QueryResult<Vec<$row>> {
            // A row deleted since `ids_in` read it drops out here: it gets no `r` event.
            $table::table
                .filter($table::id.eq_any(ids))
                .filter($table::deleted_at.is_null())
                .order($table::id.asc())
                .select(<$row>::as_select())
                .for_update()
                .load(conn)
                .await
        }
    };
    (insert $table:ident, $row:ty, $columns:expr) => {
        async fn insert(
            conn: &mut $crate::Conn,
            fields: &Self::Fields,
        ) -> diesel::QueryResult<$row> {
            let now = chrono::Utc::now();
            diesel::insert_into($table::table)
                .values((
                    $table::id.eq(uuid::Uuid::now_v7()),
                    $columns(fields),
                    $table::version.eq(1),
                    $table::created_at.eq(now),
                    $table::updated_at.eq(now),
                ))
                .returning(<$row>::as_returning())
                .get_result(conn)
                .await
        }
    };
    (update $table:ident, $row:ty, $columns:expr) => {
        async fn write(
            conn: &mut $crate::Conn,
            id: uuid::Uuid,
            fields: &Self::Fields,
        ) -> diesel::QueryResult<$row> {
            diesel::update($table::table.find(id))
                .set((
                    $columns(fields),
                    $table::version.eq($table::version + 1),
                    $table::updated_at.eq(chrono::Utc::now()),
                ))
                .returning(<$row>::as_returning())
                .get_result(conn)
                .await
        }

        async fn soft_delete(conn: &mut $crate::Conn, id: uuid::Uuid) -> diesel::QueryResult<i64> {
            let now = chrono::Utc::now();
            diesel::update($table::table.find(id))
                .set((
                    $table::deleted_at.eq(now),
                    $table::updated_at.eq(now),
                    $table::version.eq($table::version + 1),
                ))
                .returning($table::version)
                .get_result(conn)
                .await
        }
    };
}

/// `query` (a boxed query of `table`) narrowed to the ids of a snapshot's [`KeyRange`].
#[macro_export]
macro_rules! in_range {
    ($query:expr, $table:ident, $range:expr) => {{
        let mut query = $query;
        if let Some(from) = $range.from {
            query = query.filter($table::id.ge(from));
        }
        if let Some(to) = $range.to {
            query = query.filter($table::id.le(to));
        }
        if let Some(after) = $range.after {
            query = query.filter($table::id.gt(after));
        }
        query
    }};
}
