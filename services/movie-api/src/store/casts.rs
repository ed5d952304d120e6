//! Cast rows, their writes, and the rule that a cast named by a live movie stays.

use super::schema::{casts, movies};
use super::{MovieRef, CAST, WRITES_METRIC};
use crate::domain::{CastFields, CastInput, CastPatch};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::PgArrayExpressionMethods;
use diesel_async::RunQueryDsl;
use outbox::Aggregate;
use resource::{Collection, Conn, Creatable, Mutable, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use web::FieldErrors;

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

/// The writable columns, as a create and an update both set them.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = casts, treat_none_as_null = true)]
struct Columns<'a> {
    name: &'a str,
    nationality: Option<&'a str>,
}

impl<'a> From<&'a CastFields> for Columns<'a> {
    fn from(fields: &'a CastFields) -> Self {
        Self {
            name: fields.name.as_str(),
            nationality: fields.nationality.as_ref().map(|n| n.as_str()),
        }
    }
}

/// Casts as a resource.
pub struct Casts;

impl Collection for Casts {
    type Row = Cast;
    type Filter = ();
    const AGGREGATE: Aggregate = CAST;
    const WRITES_METRIC: &'static str = WRITES_METRIC;

    resource::live_rows!(casts, Cast);
}

impl Creatable for Casts {
    type Input = CastInput;
    type Fields = CastFields;

    fn parse(input: CastInput) -> Result<CastFields, FieldErrors> {
        input.parse()
    }

    resource::live_rows!(insert casts, Cast, Columns::from);
}

impl Mutable for Casts {
    type Patch = CastPatch;

    fn fields(row: &Cast) -> Result<CastFields, FieldErrors> {
        CastInput {
            name: row.name.clone(),
            nationality: row.nationality.clone(),
        }
        .parse()
    }

    fn apply(patch: &CastPatch, current: &CastFields) -> Result<CastFields, FieldErrors> {
        patch.apply(current)
    }

    resource::live_rows!(update casts, Cast, Columns::from);

    /// A cast stays while a live movie names it. The update lock (taken before this) waits for
    /// movie writes that share-locked this cast, and the query below (a new snapshot) then sees
    /// what they committed.
    async fn admit_delete(conn: &mut Conn, cast: &Cast) -> Result<(), StoreError> {
        let referencing: Vec<MovieRef> = movies::table
            .filter(movies::deleted_at.is_null())
            .filter(movies::cast_ids.contains(vec![cast.id]))
            .order((movies::created_at.asc(), movies::id.asc()))
            .select(MovieRef::as_select())
            .load(conn)
            .await?;
        if referencing.is_empty() {
            return Ok(());
        }
        let named: Vec<String> = referencing
            .iter()
            .map(|m| format!("{} ({})", m.id, m.title))
            .collect();
        Err(StoreError::Conflict {
            message: format!(
                "cast {} is still in {} movie(s): {}; remove it from them or delete them first",
                cast.id,
                referencing.len(),
                named.join(", ")
            ),
            details: FieldErrors::from([(
                "movies".to_owned(),
                format!("still referenced by {}", named.join(", ")),
            )]),
        })
    }
}
