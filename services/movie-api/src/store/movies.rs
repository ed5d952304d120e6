//! Movie rows and their writes, including the check that every cast they name is live.

use super::schema::{casts, movies};
use super::{MOVIE, WRITES_METRIC};
use crate::domain::{ExpiryWindow, Genre, MovieFields, MovieInput, MoviePatch};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::PgArrayExpressionMethods;
use diesel_async::RunQueryDsl;
use outbox::Aggregate;
use resource::{Collection, Conn, Creatable, Mutable, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use web::FieldErrors;

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

/// The writable columns, as a create and an update both set them.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = movies, treat_none_as_null = true)]
struct Columns<'a> {
    title: &'a str,
    plot: Option<&'a str>,
    genres: Vec<&'static str>,
    cast_ids: &'a [Uuid],
    release_year: Option<i32>,
    expiry_date: Option<NaiveDate>,
}

impl<'a> From<&'a MovieFields> for Columns<'a> {
    fn from(fields: &'a MovieFields) -> Self {
        Self {
            title: fields.title.as_str(),
            plot: fields.plot.as_ref().map(|p| p.as_str()),
            genres: fields.genres.names(),
            cast_ids: fields.cast_ids.as_slice(),
            release_year: fields.release_year.map(|y| y.get()),
            expiry_date: fields.expiry_date,
        }
    }
}

/// Movies as a resource.
pub struct Movies;

impl Collection for Movies {
    type Row = Movie;
    type Filter = MovieFilter;
    const AGGREGATE: Aggregate = MOVIE;
    const WRITES_METRIC: &'static str = WRITES_METRIC;

    resource::live_rows!(movies, Movie, |query, filter| {
        let mut query = query;
        if let Some(genre) = filter.genre {
            query = query.filter(movies::genres.contains(vec![genre.as_str()]));
        }
        if let Some(window) = filter.expiring {
            query = query.filter(movies::expiry_date.between(window.from, window.to));
        }
        query
    });
}

impl Creatable for Movies {
    type Input = MovieInput;
    type Fields = MovieFields;

    fn parse(input: MovieInput) -> Result<MovieFields, FieldErrors> {
        input.parse()
    }

    /// Every cast a movie names must be live, and stays so until the write commits.
    async fn admit(conn: &mut Conn, fields: &MovieFields) -> Result<(), StoreError> {
        lock_casts(conn, fields.cast_ids.as_slice()).await
    }

    resource::live_rows!(insert movies, Movie, Columns::from);
}

impl Mutable for Movies {
    type Patch = MoviePatch;

    fn fields(row: &Movie) -> Result<MovieFields, FieldErrors> {
        MovieInput {
            title: row.title.clone(),
            plot: row.plot.clone(),
            genres: row.genres.clone(),
            cast_ids: row.cast_ids.clone(),
            release_year: row.release_year,
            expiry_date: row.expiry_date.map(|d| d.to_string()),
        }
        .parse()
    }

    fn apply(patch: &MoviePatch, current: &MovieFields) -> Result<MovieFields, FieldErrors> {
        patch.apply(current)
    }

    resource::live_rows!(update movies, Movie, Columns::from);
}

/// Share-locks the live casts among `ids` until the transaction ends and fails naming the ids
/// that are unknown or deleted. The lock makes a concurrent cast delete wait for this write and
/// then see the movie; a delete that got there first makes the cast missing here.
async fn lock_casts(conn: &mut Conn, ids: &[Uuid]) -> Result<(), StoreError> {
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
    let missing: Vec<String> = ids
        .iter()
        .filter(|id| !live.contains(id))
        .map(Uuid::to_string)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(StoreError::Invalid(FieldErrors::from([(
        "cast_ids".to_owned(),
        format!("unknown or deleted cast id(s): {}", missing.join(", ")),
    )])))
}
