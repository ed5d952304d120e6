//! Cast rows and their writes.

use super::schema::{casts, movies};
use super::{count_write, Catalog, MovieRef, Page, PageRequest, StoreError, CAST};
use crate::domain::{CastFields, CastInput};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::PgArrayExpressionMethods;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use events::Op;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use web::{etag::IfMatch, FieldErrors};

/// A cast member as the API returns it and as change events carry it (`before` / `after`).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Serialize, Deserialize, ToSchema)]
#[diesel(table_name = casts)]
pub struct Cast {
    pub id: Uuid,
    #[schema(example = "Toshiro Mifune")]
    pub name: String,
    #[schema(example = "Japanese")]
    pub nationality: Option<String>,
    /// Starts at 1, +1 on every change; also the ETag.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Cast {
    /// The current fields, re-parsed; stored rows were valid when written.
    fn fields(&self) -> Result<CastFields, StoreError> {
        CastInput {
            name: self.name.clone(),
            nationality: self.nationality.clone(),
        }
        .parse()
        .map_err(|details| StoreError::Invalid {
            aggregate: CAST,
            details,
        })
    }
}

impl Catalog {
    pub async fn create_cast(&self, fields: CastFields) -> Result<Cast, StoreError> {
        let mut conn = self.conn().await?;
        conn.transaction(async |conn| {
            let now = Utc::now();
            let cast: Cast = diesel::insert_into(casts::table)
                .values((
                    casts::id.eq(Uuid::now_v7()),
                    casts::name.eq(fields.name.as_str()),
                    casts::nationality.eq(fields.nationality.as_ref().map(|n| n.as_str())),
                    casts::version.eq(1),
                    casts::created_at.eq(now),
                    casts::updated_at.eq(now),
                ))
                .returning(Cast::as_returning())
                .get_result(conn)
                .await?;
            CAST.record(conn, cast.id, Op::Create, 1, None, Some(&cast))
                .await?;
            Ok(cast)
        })
        .await
        .inspect(|_| count_write(CAST, Op::Create))
    }

    pub async fn get_cast(&self, id: Uuid) -> Result<Cast, StoreError> {
        let mut conn = self.conn().await?;
        casts::table
            .filter(casts::id.eq(id))
            .filter(casts::deleted_at.is_null())
            .select(Cast::as_select())
            .first(&mut conn)
            .await
            .optional()?
            .ok_or(StoreError::NotFound {
                aggregate: CAST,
                id,
            })
    }

    /// Live casts, newest first.
    pub async fn list_casts(&self, page: PageRequest) -> Result<Page<Cast>, StoreError> {
        let mut conn = self.conn().await?;
        let query = casts::table
            .filter(casts::deleted_at.is_null())
            .order((casts::created_at.desc(), casts::id.desc()))
            .limit(page.limit + 1)
            .select(Cast::as_select())
            .into_boxed();
        let rows = web::starting_at!(query, casts, page.start)
            .load(&mut conn)
            .await?;
        Ok(Page::from_rows(rows, page.limit))
    }

    /// Replaces the cast's fields with `change(current)` if `if_match` allows.
    pub async fn update_cast(
        &self,
        id: Uuid,
        if_match: &IfMatch,
        change: impl FnOnce(&CastFields) -> Result<CastFields, FieldErrors> + Send,
    ) -> Result<Cast, StoreError> {
        let mut conn = self.conn().await?;
        conn.transaction(async |conn| {
            let before = lock_live(conn, id, if_match).await?;
            let next = change(&before.fields()?).map_err(|details| StoreError::Invalid {
                aggregate: CAST,
                details,
            })?;
            let after: Cast = diesel::update(casts::table.find(id))
                .set((
                    casts::name.eq(next.name.as_str()),
                    casts::nationality.eq(next.nationality.as_ref().map(|n| n.as_str())),
                    casts::version.eq(casts::version + 1),
                    casts::updated_at.eq(Utc::now()),
                ))
                .returning(Cast::as_returning())
                .get_result(conn)
                .await?;
            CAST.record(
                conn,
                id,
                Op::Update,
                after.version,
                Some(&before),
                Some(&after),
            )
            .await?;
            Ok(after)
        })
        .await
        .inspect(|_| count_write(CAST, Op::Update))
    }

    /// Soft-deletes the cast, unless a live movie still names it; the delete event carries the
    /// last full image as `before`.
    pub async fn delete_cast(&self, id: Uuid, if_match: &IfMatch) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        conn.transaction(async |conn| {
            // The update lock waits for movie writes that share-locked this cast, and the query
            // below (a new snapshot) then sees what they committed.
            let before = lock_live(conn, id, if_match).await?;
            let referencing: Vec<MovieRef> = movies::table
                .filter(movies::deleted_at.is_null())
                .filter(movies::cast_ids.contains(vec![id]))
                .order((movies::created_at.asc(), movies::id.asc()))
                .select(MovieRef::as_select())
                .load(conn)
                .await?;
            if !referencing.is_empty() {
                return Err(StoreError::CastInUse {
                    cast: id,
                    movies: referencing,
                });
            }
            let now = Utc::now();
            let version: i64 = diesel::update(casts::table.find(id))
                .set((
                    casts::deleted_at.eq(now),
                    casts::updated_at.eq(now),
                    casts::version.eq(casts::version + 1),
                ))
                .returning(casts::version)
                .get_result(conn)
                .await?;
            CAST.record(conn, id, Op::Delete, version, Some(&before), None)
                .await?;
            Ok(())
        })
        .await
        .inspect(|_| count_write(CAST, Op::Delete))
    }
}

/// Locks the live cast (serializing its writers) and checks `If-Match`.
async fn lock_live(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    if_match: &IfMatch,
) -> Result<Cast, StoreError> {
    let current = casts::table
        .filter(casts::id.eq(id))
        .filter(casts::deleted_at.is_null())
        .select(Cast::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?
        .ok_or(StoreError::NotFound {
            aggregate: CAST,
            id,
        })?;
    if !if_match.allows(current.version) {
        return Err(StoreError::VersionMismatch {
            current: current.version,
        });
    }
    Ok(current)
}
