//! The registry's state in PostgreSQL: schemas under global ids, the versions of each subject,
//! and compatibility levels.
//!
//! A schema row is never deleted, so an id, once given, always means the same schema and the
//! same schema always gets the same id, whichever subject registers it. Writes to one subject
//! (register, delete) serialize on a transaction-scoped advisory lock on the subject's name, so
//! that two registrations cannot both take the same next version number or both pass the
//! compatibility check against a history the other is changing.

use crate::{
    compatibility::{self, CompatibilityLevel, Earlier},
    error::RegistryError,
    in_use::InUse,
    schema::{AvroSchema, VersionSelector},
};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations};
use runtime::db::PgPool;

mod deletion;
mod levels;

use levels::effective_level;

pub const MIGRATIONS: &[EmbeddedMigrations] = &[embed_migrations!("migrations")];

diesel::table! {
    schemas (id) {
        id -> Int4,
        fingerprint -> Bytea,
        canonical -> Text,
        schema_text -> Text,
    }
}

diesel::table! {
    subject_versions (subject, version) {
        subject -> Text,
        version -> Int4,
        schema_id -> Int4,
        deleted -> Bool,
    }
}

diesel::table! {
    global_compatibility (singleton) {
        singleton -> Bool,
        level -> Text,
    }
}

diesel::table! {
    subject_compatibility (subject) {
        subject -> Text,
        level -> Text,
    }
}

diesel::joinable!(subject_versions -> schemas (schema_id));
diesel::allow_tables_to_appear_in_same_query!(schemas, subject_versions);

/// One version of a subject, as `GET /subjects/{s}/versions/{v}` returns it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SubjectVersion {
    pub subject: String,
    pub id: i32,
    pub version: i32,
    pub schema: String,
}

/// What registering a schema under a subject did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    /// The subject already had this schema (not deleted); nothing changed.
    Existing { id: i32 },
    /// The schema became the subject's newest version.
    NewVersion { id: i32, version: i32 },
}

impl Registration {
    pub fn id(self) -> i32 {
        match self {
            Registration::Existing { id } | Registration::NewVersion { id, .. } => id,
        }
    }
}

/// One row of a subject's history, soft-deleted or not.
#[derive(Debug, Clone, Copy, Queryable)]
struct VersionRow {
    version: i32,
    schema_id: i32,
    deleted: bool,
}

type Conn = runtime::db::PgConn;

#[derive(Clone)]
pub struct RegistryStore {
    pool: PgPool,
    in_use: InUse,
}

impl RegistryStore {
    pub fn new(pool: PgPool, in_use: InUse) -> Self {
        Self { pool, in_use }
    }

    async fn conn(&self) -> Result<Conn, RegistryError> {
        self.pool
            .get()
            .await
            .map_err(|e| RegistryError::Store(format!("database unavailable: {e}")))
    }

    /// Subject names in order; those whose every version is soft-deleted only when asked.
    pub async fn subjects(&self, include_deleted: bool) -> Result<Vec<String>, RegistryError> {
        use subject_versions::dsl as sv;
        let mut conn = self.conn().await?;
        let mut query = sv::subject_versions
            .select(sv::subject)
            .distinct()
            .into_boxed();
        if !include_deleted {
            query = query.filter(sv::deleted.eq(false));
        }
        Ok(query.order(sv::subject).load(&mut conn).await?)
    }

    /// A subject's version numbers in order; 40401 when it has none (that are not deleted).
    pub async fn versions(
        &self,
        subject: &str,
        include_deleted: bool,
    ) -> Result<Vec<i32>, RegistryError> {
        let mut conn = self.conn().await?;
        let visible = visible(history(&mut conn, subject).await?, include_deleted);
        if visible.is_empty() {
            return Err(RegistryError::SubjectNotFound(subject.to_owned()));
        }
        Ok(visible.iter().map(|row| row.version).collect())
    }

    pub async fn version(
        &self,
        subject: &str,
        selector: VersionSelector,
        include_deleted: bool,
    ) -> Result<SubjectVersion, RegistryError> {
        let mut conn = self.conn().await?;
        let visible = visible(history(&mut conn, subject).await?, include_deleted);
        let row = select_version(subject, &visible, selector)?;
        Ok(SubjectVersion {
            subject: subject.to_owned(),
            id: row.schema_id,
            version: row.version,
            schema: schema_text(&mut conn, row.schema_id).await?,
        })
    }

    /// The text of schema `id`, if a subject version (deleted or not) still refers to it.
    pub async fn schema(&self, id: i32) -> Result<String, RegistryError> {
        let mut conn = self.conn().await?;
        if !is_referenced(&mut conn, id).await? {
            return Err(RegistryError::SchemaNotFound(Some(id)));
        }
        schema_text(&mut conn, id).await
    }

    /// The (subject, version) pairs that use schema `id`.
    pub async fn schema_usages(
        &self,
        id: i32,
        include_deleted: bool,
    ) -> Result<Vec<(String, i32)>, RegistryError> {
        use subject_versions::dsl as sv;
        let mut conn = self.conn().await?;
        if !is_referenced(&mut conn, id).await? {
            return Err(RegistryError::SchemaNotFound(Some(id)));
        }
        let mut query = sv::subject_versions
            .select((sv::subject, sv::version))
            .filter(sv::schema_id.eq(id))
            .into_boxed();
        if !include_deleted {
            query = query.filter(sv::deleted.eq(false));
        }
        Ok(query
            .order((sv::subject, sv::version))
            .load(&mut conn)
            .await?)
    }

    /// The version of `subject` that holds `schema` (the newest, should several).
    pub async fn lookup(
        &self,
        subject: &str,
        schema: &AvroSchema,
        include_deleted: bool,
    ) -> Result<SubjectVersion, RegistryError> {
        let mut conn = self.conn().await?;
        let visible = visible(history(&mut conn, subject).await?, include_deleted);
        if visible.is_empty() {
            return Err(RegistryError::SubjectNotFound(subject.to_owned()));
        }
        let id = schema_id_of(&mut conn, schema)
            .await?
            .ok_or(RegistryError::SchemaNotFound(None))?;
        let row = visible
            .iter()
            .rev()
            .find(|row| row.schema_id == id)
            .ok_or(RegistryError::SchemaNotFound(None))?;
        Ok(SubjectVersion {
            subject: subject.to_owned(),
            id,
            version: row.version,
            schema: schema_text(&mut conn, id).await?,
        })
    }

    /// Registers `schema` under `subject`: the existing id when the subject already has it,
    /// else a new version if the schema is compatible with the subject's history under the
    /// subject's level (409 otherwise).
    pub async fn register(
        &self,
        subject: &str,
        schema: &AvroSchema,
    ) -> Result<Registration, RegistryError> {
        let mut conn = self.conn().await?;
        conn.transaction(async |conn| {
            lock_subject(conn, subject).await?;
            let rows = history(conn, subject).await?;
            let known_id = schema_id_of(conn, schema).await?;
            if let Some(id) = known_id {
                if rows.iter().any(|row| !row.deleted && row.schema_id == id) {
                    return Ok(Registration::Existing { id });
                }
            }
            let level = effective_level(conn, subject).await?;
            let problems = compatibility::check_against_history(
                level,
                schema.avro(),
                &live_history(conn, subject).await?,
            );
            if !problems.is_empty() {
                return Err(RegistryError::IncompatibleSchema {
                    subject: subject.to_owned(),
                    details: problems,
                });
            }
            let id = match known_id {
                Some(id) => id,
                None => insert_schema(conn, schema).await?,
            };
            let next = rows.last().map_or(1, |row| row.version + 1);
            diesel::insert_into(subject_versions::table)
                .values((
                    subject_versions::subject.eq(subject),
                    subject_versions::version.eq(next),
                    subject_versions::schema_id.eq(id),
                ))
                .execute(conn)
                .await?;
            Ok(Registration::NewVersion { id, version: next })
        })
        .await
    }

    /// Why `schema` may not follow the subject under its level (empty when it may): against
    /// one version when `selector` names one, else against the history the level asks for.
    pub async fn incompatibilities(
        &self,
        subject: &str,
        selector: Option<VersionSelector>,
        schema: &AvroSchema,
    ) -> Result<Vec<String>, RegistryError> {
        let mut conn = self.conn().await?;
        let level = effective_level(&mut conn, subject).await?;
        let Some(selector) = selector else {
            let earlier = live_history(&mut conn, subject).await?;
            return Ok(compatibility::check_against_history(
                level,
                schema.avro(),
                &earlier,
            ));
        };
        let visible = visible(history(&mut conn, subject).await?, false);
        let row = select_version(subject, &visible, selector)?;
        let earlier = Earlier {
            version: row.version,
            schema: stored_schema(&schema_text(&mut conn, row.schema_id).await?, row.version)?,
        };
        Ok(compatibility::check_against(level, schema.avro(), &earlier))
    }
}

/// Serializes writes to one subject until the transaction ends.
async fn lock_subject(conn: &mut AsyncPgConnection, subject: &str) -> Result<(), RegistryError> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind::<diesel::sql_types::Text, _>(subject)
        .execute(conn)
        .await?;
    Ok(())
}

/// Every version row of a subject, oldest first.
async fn history(
    conn: &mut AsyncPgConnection,
    name: &str,
) -> Result<Vec<VersionRow>, RegistryError> {
    use subject_versions::dsl as sv;
    Ok(sv::subject_versions
        .select((sv::version, sv::schema_id, sv::deleted))
        .filter(sv::subject.eq(name))
        .order(sv::version)
        .load(conn)
        .await?)
}

fn visible(rows: Vec<VersionRow>, include_deleted: bool) -> Vec<VersionRow> {
    rows.into_iter()
        .filter(|row| include_deleted || !row.deleted)
        .collect()
}

/// The row `selector` names among `rows` (oldest first): 40401 when there are none, 40402 when
/// the number is not among them.
fn select_version(
    subject: &str,
    rows: &[VersionRow],
    selector: VersionSelector,
) -> Result<VersionRow, RegistryError> {
    let last = rows
        .last()
        .ok_or_else(|| RegistryError::SubjectNotFound(subject.to_owned()))?;
    match selector {
        VersionSelector::Latest => Ok(*last),
        VersionSelector::Number(n) => rows
            .iter()
            .find(|row| row.version == n)
            .copied()
            .ok_or(RegistryError::VersionNotFound(n)),
    }
}

/// The parsed schemas of a subject's live (not deleted) versions, oldest first.
async fn live_history(
    conn: &mut AsyncPgConnection,
    subject: &str,
) -> Result<Vec<Earlier>, RegistryError> {
    use subject_versions::dsl as sv;
    let rows: Vec<(i32, String)> = sv::subject_versions
        .inner_join(schemas::table)
        .select((sv::version, schemas::schema_text))
        .filter(sv::subject.eq(subject))
        .filter(sv::deleted.eq(false))
        .order(sv::version)
        .load(conn)
        .await?;
    rows.into_iter()
        .map(|(version, text)| {
            Ok(Earlier {
                version,
                schema: stored_schema(&text, version)?,
            })
        })
        .collect()
}

/// A stored schema, parsed again; it was valid when it was registered.
fn stored_schema(text: &str, version: i32) -> Result<apache_avro::Schema, RegistryError> {
    AvroSchema::parse(text, None)
        .map(|schema| schema.avro().clone())
        .map_err(|e| RegistryError::Store(format!("stored schema of version {version}: {e}")))
}

fn stored_level(name: &str) -> Result<CompatibilityLevel, RegistryError> {
    CompatibilityLevel::parse(name)
        .map_err(|_| RegistryError::Store(format!("stored compatibility level {name:?}")))
}

async fn schema_id_of(
    conn: &mut AsyncPgConnection,
    schema: &AvroSchema,
) -> Result<Option<i32>, RegistryError> {
    Ok(schemas::table
        .select(schemas::id)
        .filter(schemas::fingerprint.eq(schema.fingerprint()))
        .first(conn)
        .await
        .optional()?)
}

/// Inserts a schema new to the registry; if a concurrent registration (of another subject)
/// inserted it first, takes that row's id.
async fn insert_schema(
    conn: &mut AsyncPgConnection,
    schema: &AvroSchema,
) -> Result<i32, RegistryError> {
    let inserted: Option<i32> = diesel::insert_into(schemas::table)
        .values((
            schemas::fingerprint.eq(schema.fingerprint()),
            schemas::canonical.eq(schema.canonical()),
            schemas::schema_text.eq(schema.text()),
        ))
        .on_conflict(schemas::fingerprint)
        .do_nothing()
        .returning(schemas::id)
        .get_result(conn)
        .await
        .optional()?;
    match inserted {
        Some(id) => Ok(id),
        None => schema_id_of(conn, schema)
            .await?
            .ok_or_else(|| RegistryError::Store("schema vanished after a conflict".to_owned())),
    }
}

async fn schema_text(conn: &mut AsyncPgConnection, id: i32) -> Result<String, RegistryError> {
    schemas::table
        .find(id)
        .select(schemas::schema_text)
        .first(conn)
        .await
        .optional()?
        .ok_or(RegistryError::SchemaNotFound(Some(id)))
}

/// Whether any subject version, deleted or not, refers to schema `id`; ids whose every version
/// was permanently deleted are no longer served.
async fn is_referenced(conn: &mut AsyncPgConnection, id: i32) -> Result<bool, RegistryError> {
    use subject_versions::dsl as sv;
    Ok(diesel::select(diesel::dsl::exists(
        sv::subject_versions.filter(sv::schema_id.eq(id)),
    ))
    .get_result(conn)
    .await?)
}
