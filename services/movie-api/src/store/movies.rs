//! Movie rows and their writes, including the check that every cast they name is live.

use super::schema::{casts, movies};
use super::{count_write, Catalog, Page, PageRequest, StoreError, MOVIE};
use crate::domain::{ExpiryWindow, Genre, MovieFields, MovieInput};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::PgArrayExpressionMethods;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use events::Op;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use web::{etag::IfMatch, FieldErrors};

/// A movie as the API returns it and as change events carry it (`before` / `after`).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Serialize, Deserialize, ToSchema)]
#[diesel(table_name = movies)]
pub struct Movie {
    pub id: Uuid,
    #[schema(example = "Seven Samurai")]
    pub title: String,
    pub plot: Option<String>,
    #[schema(value_type = Vec<Genre>)]
    pub genres: Vec<String>,
    /// Ids of the movie's casts, in the order given.
    pub cast_ids: Vec<Uuid>,
    #[schema(example = 1954)]
    pub release_year: Option<i32>,
    pub expiry_date: Option<NaiveDate>,
    /// Starts at 1, +1 on every change; also the ETag.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Movie {
    /// The current fields, re-parsed; stored rows were valid when written.
    fn fields(&self) -> Result<MovieFields, StoreError> {
        MovieInput {
            title: self.title.clone(),
            plot: self.plot.clone(),
            genres: self.genres.clone(),
            cast_ids: self.cast_ids.clone(),
            release_year: self.release_year,
            expiry_date: self.expiry_date.map(|d| d.to_string()),
        }
        .parse()
        .map_err(|details| StoreError::Invalid {
            aggregate: MOVIE,
            details,
        })
    }
}

/// A movie named in an error (a cast it still uses cannot be deleted).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Serialize)]
#[diesel(table_name = movies)]
pub struct MovieRef {
    pub id: Uuid,
    pub title: String,
}

/// Which movies a listing shows; `None` does not filter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MovieFilter {
    pub genre: Option<Genre>,
    pub expiring: Option<ExpiryWindow>,
}

impl Catalog {
    pub async fn create_movie(&self, fields: MovieFields) -> Result<Movie, StoreError> {
        let mut conn = self.conn().await?;
        conn.transaction(async |conn| {
            lock_casts(conn, fields.cast_ids.as_slice()).await?;
            let now = Utc::now();
            let movie: Movie = diesel::insert_into(movies::table)
                .values((
                    movies::id.eq(Uuid::now_v7()),
                    movies::title.eq(fields.title.as_str()),
                    movies::plot.eq(fields.plot.as_ref().map(|p| p.as_str())),
                    movies::genres.eq(fields.genres.names()),
                    movies::cast_ids.eq(fields.cast_ids.as_slice()),
                    movies::release_year.eq(fields.release_year.map(|y| y.get())),
                    movies::expiry_date.eq(fields.expiry_date),
                    movies::version.eq(1),
                    movies::created_at.eq(now),
                    movies::updated_at.eq(now),
                ))
                .returning(Movie::as_returning())
                .get_result(conn)
                .await?;
            MOVIE
                .record(conn, movie.id, Op::Create, 1, None, Some(&movie))
                .await?;
            Ok(movie)
        })
        .await
        .inspect(|_| count_write(MOVIE, Op::Create))
    }

    pub async fn get_movie(&self, id: Uuid) -> Result<Movie, StoreError> {
        let mut conn = self.conn().await?;
        movies::table
            .filter(movies::id.eq(id))
            .filter(movies::deleted_at.is_null())
            .select(Movie::as_select())
            .first(&mut conn)
            .await
            .optional()?
            .ok_or(StoreError::NotFound {
                aggregate: MOVIE,
                id,
            })
    }

    /// Live movies matching `filter`, newest first.
    pub async fn list_movies(
        &self,
        page: PageRequest,
        filter: &MovieFilter,
    ) -> Result<Page<Movie>, StoreError> {
        let mut conn = self.conn().await?;
        let mut query = movies::table
            .filter(movies::deleted_at.is_null())
            .order((movies::created_at.desc(), movies::id.desc()))
            .limit(page.limit + 1)
            .select(Movie::as_select())
            .into_boxed();
        if let Some(genre) = filter.genre {
            query = query.filter(movies::genres.contains(vec![genre.as_str()]));
        }
        if let Some(window) = filter.expiring {
            query = query.filter(movies::expiry_date.between(window.from, window.to));
        }
        let rows = web::starting_at!(query, movies, page.start)
            .load(&mut conn)
            .await?;
        Ok(Page::from_rows(rows, page.limit))
    }

    /// Replaces the movie's fields with `change(current)` if `if_match` allows and every cast it
    /// then names is live.
    pub async fn update_movie(
        &self,
        id: Uuid,
        if_match: &IfMatch,
        change: impl FnOnce(&MovieFields) -> Result<MovieFields, FieldErrors> + Send,
    ) -> Result<Movie, StoreError> {
        let mut conn = self.conn().await?;
        conn.transaction(async |conn| {
            let before = lock_live(conn, id, if_match).await?;
            let next = change(&before.fields()?).map_err(|details| StoreError::Invalid {
                aggregate: MOVIE,
                details,
            })?;
            lock_casts(conn, next.cast_ids.as_slice()).await?;
            let after = write_fields(conn, id, &next).await?;
            MOVIE
                .record(
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
        .inspect(|_| count_write(MOVIE, Op::Update))
    }

    /// Soft-deletes the movie; its delete event carries the last full image as `before`. The
    /// casts it named are free to be deleted afterwards.
    pub async fn delete_movie(&self, id: Uuid, if_match: &IfMatch) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        conn.transaction(async |conn| {
            let before = lock_live(conn, id, if_match).await?;
            let now = Utc::now();
            let version: i64 = diesel::update(movies::table.find(id))
                .set((
                    movies::deleted_at.eq(now),
                    movies::updated_at.eq(now),
                    movies::version.eq(movies::version + 1),
                ))
                .returning(movies::version)
                .get_result(conn)
                .await?;
            MOVIE
                .record(conn, id, Op::Delete, version, Some(&before), None)
                .await?;
            Ok(())
        })
        .await
        .inspect(|_| count_write(MOVIE, Op::Delete))
    }
}

/// Sets every writable field of movie `id` and bumps its version.
async fn write_fields(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    fields: &MovieFields,
) -> Result<Movie, StoreError> {
    Ok(diesel::update(movies::table.find(id))
        .set((
            movies::title.eq(fields.title.as_str()),
            movies::plot.eq(fields.plot.as_ref().map(|p| p.as_str())),
            movies::genres.eq(fields.genres.names()),
            movies::cast_ids.eq(fields.cast_ids.as_slice()),
            movies::release_year.eq(fields.release_year.map(|y| y.get())),
            movies::expiry_date.eq(fields.expiry_date),
            movies::version.eq(movies::version + 1),
            movies::updated_at.eq(Utc::now()),
        ))
        .returning(Movie::as_returning())
        .get_result(conn)
        .await?)
}

/// Share-locks the live casts among `ids` until the transaction ends and fails naming the ids
/// that are unknown or deleted. The lock makes a concurrent cast delete wait for this write and
/// then see the movie; a delete that got there first makes the cast missing here.
async fn lock_casts(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let live: Vec<Uuid> = casts::table
        .filter(casts::id.eq_any(ids))
        .filter(casts::deleted_at.is_null())
        .order(casts::id)
        .select(casts::id)
        .for_share()
        .load(conn)
        .await?;
    let missing: Vec<Uuid> = ids
        .iter()
        .filter(|id| !live.contains(id))
        .copied()
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(StoreError::UnknownCasts(missing))
    }
}

/// Locks the live movie (serializing its writers) and checks `If-Match`.
async fn lock_live(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    if_match: &IfMatch,
) -> Result<Movie, StoreError> {
    let current = movies::table
        .filter(movies::id.eq(id))
        .filter(movies::deleted_at.is_null())
        .select(Movie::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?
        .ok_or(StoreError::NotFound {
            aggregate: MOVIE,
            id,
        })?;
    if !if_match.allows(current.version) {
        return Err(StoreError::VersionMismatch {
            current: current.version,
        });
    }
    Ok(current)
}
