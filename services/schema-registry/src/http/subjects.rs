//! `/subjects`: a subject's versions, registering a schema as its next version, looking a
//! schema up under it, and soft or permanent deletion.

use super::{
    media::{Body, Params, PathParams, RawJson, Registry},
    SchemaRequest,
};
use crate::{
    error::RegistryError,
    schema::VersionSelector,
    store::{Registration, RegistryStore, SubjectVersion},
};
use axum::{extract::State, routing::get, Router};
use serde_json::{json, Value};

pub fn router() -> Router<RegistryStore> {
    Router::new()
        .route("/subjects", get(list))
        .route(
            "/subjects/{subject}",
            axum::routing::post(lookup).delete(delete),
        )
        .route("/subjects/{subject}/versions", get(versions).post(register))
        .route(
            "/subjects/{subject}/versions/{version}",
            get(version).delete(delete_version),
        )
        .route(
            "/subjects/{subject}/versions/{version}/schema",
            get(version_schema),
        )
}

type Result<T> = std::result::Result<T, RegistryError>;

/// `GET /subjects` → `["a", "b"]` (`?deleted=true`, `?subjectPrefix=`).
async fn list(State(store): State<RegistryStore>, params: Params) -> Result<Registry<Vec<String>>> {
    let mut subjects = store.subjects(params.deleted()).await?;
    subjects.retain(|s| s.starts_with(params.subject_prefix()));
    Ok(Registry(subjects))
}

/// `GET /subjects/{subject}/versions` → `[1, 2]`.
async fn versions(
    State(store): State<RegistryStore>,
    PathParams(subject): PathParams<String>,
    params: Params,
) -> Result<Registry<Vec<i32>>> {
    Ok(Registry(store.versions(&subject, params.deleted()).await?))
}

/// `GET /subjects/{subject}/versions/{version|latest}` → `{subject, id, version, schema}`.
async fn version(
    State(store): State<RegistryStore>,
    PathParams((subject, version)): PathParams<(String, String)>,
    params: Params,
) -> Result<Registry<SubjectVersion>> {
    let selector = VersionSelector::parse(&version)?;
    Ok(Registry(
        store.version(&subject, selector, params.deleted()).await?,
    ))
}

/// `GET /subjects/{subject}/versions/{version|latest}/schema` → the schema itself.
async fn version_schema(
    State(store): State<RegistryStore>,
    PathParams((subject, version)): PathParams<(String, String)>,
    params: Params,
) -> Result<RawJson<String>> {
    let selector = VersionSelector::parse(&version)?;
    let found = store.version(&subject, selector, params.deleted()).await?;
    Ok(RawJson(found.schema))
}

/// `POST /subjects/{subject}/versions` `{schema, schemaType?}` → `{id}`: the schema's global
/// id, registering it as the subject's next version unless the subject already has it.
async fn register(
    State(store): State<RegistryStore>,
    PathParams(subject): PathParams<String>,
    Body(request): Body<SchemaRequest>,
) -> Result<Registry<Value>> {
    let schema = request.parse()?;
    let outcome = store.register(&subject, &schema).await;
    let label = match &outcome {
        Ok(Registration::Existing { .. }) => "existing",
        Ok(Registration::NewVersion { id, version }) => {
            tracing::info!(%subject, id, version, "registered a new schema version");
            "new_version"
        }
        Err(RegistryError::IncompatibleSchema { .. }) => "incompatible",
        Err(_) => "error",
    };
    metrics::counter!("schema_registry_registrations_total", "outcome" => label).increment(1);
    Ok(Registry(json!({ "id": outcome?.id() })))
}

/// `POST /subjects/{subject}` `{schema}` → `{subject, id, version, schema}` of the version
/// holding that schema; 40403 when the subject does not have it.
async fn lookup(
    State(store): State<RegistryStore>,
    PathParams(subject): PathParams<String>,
    params: Params,
    Body(request): Body<SchemaRequest>,
) -> Result<Registry<SubjectVersion>> {
    let schema = request.parse()?;
    Ok(Registry(
        store.lookup(&subject, &schema, params.deleted()).await?,
    ))
}

/// `DELETE /subjects/{subject}` → the versions deleted; soft unless `?permanent=true`, which
/// needs a soft delete first.
async fn delete(
    State(store): State<RegistryStore>,
    PathParams(subject): PathParams<String>,
    params: Params,
) -> Result<Registry<Vec<i32>>> {
    let deleted = store.delete_subject(&subject, params.permanent()).await?;
    tracing::info!(%subject, permanent = params.permanent(), ?deleted, "deleted a subject");
    Ok(Registry(deleted))
}

/// `DELETE /subjects/{subject}/versions/{version|latest}` → the version number.
async fn delete_version(
    State(store): State<RegistryStore>,
    PathParams((subject, version)): PathParams<(String, String)>,
    params: Params,
) -> Result<Registry<i32>> {
    let selector = VersionSelector::parse(&version)?;
    let deleted = store
        .delete_version(&subject, selector, params.permanent())
        .await?;
    tracing::info!(%subject, version = deleted, permanent = params.permanent(), "deleted a version");
    Ok(Registry(deleted))
}
