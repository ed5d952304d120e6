//! `/schemas`: a schema by its global id (what a consumer does with the id in a message), and
//! which subject versions use it.

use super::media::{Params, PathParams, RawJson, Registry};
use crate::{error::RegistryError, schema::AVRO, store::RegistryStore};
use axum::{extract::State, routing::get, Router};
use serde_json::{json, Value};

pub fn router() -> Router<RegistryStore> {
    Router::new()
        .route("/schemas/types", get(types))
        .route("/schemas/ids/{id}", get(by_id))
        .route("/schemas/ids/{id}/schema", get(raw_by_id))
        .route("/schemas/ids/{id}/subjects", get(subjects))
        .route("/schemas/ids/{id}/versions", get(versions))
}

type Result<T> = std::result::Result<T, RegistryError>;

/// Ids are positive integers; anything else names no resource (Confluent's path does not match).
fn schema_id(raw: &str) -> Result<i32> {
    raw.parse().map_err(|_| RegistryError::RouteNotFound)
}

/// `GET /schemas/types` → `["AVRO"]`.
async fn types() -> Registry<[&'static str; 1]> {
    Registry([AVRO])
}

/// `GET /schemas/ids/{id}` → `{schema}`.
async fn by_id(
    State(store): State<RegistryStore>,
    PathParams(id): PathParams<String>,
) -> Result<Registry<Value>> {
    let schema = store.schema(schema_id(&id)?).await?;
    Ok(Registry(json!({ "schema": schema })))
}

/// `GET /schemas/ids/{id}/schema` → the schema itself.
async fn raw_by_id(
    State(store): State<RegistryStore>,
    PathParams(id): PathParams<String>,
) -> Result<RawJson<String>> {
    Ok(RawJson(store.schema(schema_id(&id)?).await?))
}

/// `GET /schemas/ids/{id}/subjects` → the subjects that use the schema.
async fn subjects(
    State(store): State<RegistryStore>,
    PathParams(id): PathParams<String>,
    params: Params,
) -> Result<Registry<Vec<String>>> {
    let usages = store
        .schema_usages(schema_id(&id)?, params.deleted())
        .await?;
    let mut subjects: Vec<String> = usages.into_iter().map(|(subject, _)| subject).collect();
    subjects.dedup();
    Ok(Registry(subjects))
}

/// `GET /schemas/ids/{id}/versions` → `[{subject, version}]`.
async fn versions(
    State(store): State<RegistryStore>,
    PathParams(id): PathParams<String>,
    params: Params,
) -> Result<Registry<Vec<Value>>> {
    let usages = store
        .schema_usages(schema_id(&id)?, params.deleted())
        .await?;
    Ok(Registry(
        usages
            .into_iter()
            .map(|(subject, version)| json!({ "subject": subject, "version": version }))
            .collect(),
    ))
}
