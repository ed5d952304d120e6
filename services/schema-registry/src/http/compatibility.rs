//! `/compatibility`: would this schema be accepted? Tests a schema against one version of a
//! subject (or, without a version, against what registration would check) under the
//! subject's level, without registering anything.

use super::{
    media::{Body, Params, PathParams, Registry},
    SchemaRequest,
};
use crate::{error::RegistryError, schema::VersionSelector, store::RegistryStore};
use axum::{extract::State, routing::post, Router};
use serde_json::{json, Value};

pub fn router() -> Router<RegistryStore> {
    Router::new()
        .route(
            "/compatibility/subjects/{subject}/versions",
            post(against_history),
        )
        .route(
            "/compatibility/subjects/{subject}/versions/{version}",
            post(against_version),
        )
}

type Result<T> = std::result::Result<T, RegistryError>;

/// `POST /compatibility/subjects/{subject}/versions/{version|latest}` → `{is_compatible}`
/// (`?verbose=true` adds `messages`).
async fn against_version(
    State(store): State<RegistryStore>,
    PathParams((subject, version)): PathParams<(String, String)>,
    params: Params,
    Body(request): Body<SchemaRequest>,
) -> Result<Registry<Value>> {
    let selector = VersionSelector::parse(&version)?;
    let schema = request.parse()?;
    let problems = store
        .incompatibilities(&subject, Some(selector), &schema)
        .await?;
    Ok(Registry(verdict(problems, params.verbose())))
}

/// `POST /compatibility/subjects/{subject}/versions` → `{is_compatible}` against the versions
/// the subject's level names (all when transitive, else the latest).
async fn against_history(
    State(store): State<RegistryStore>,
    PathParams(subject): PathParams<String>,
    params: Params,
    Body(request): Body<SchemaRequest>,
) -> Result<Registry<Value>> {
    let schema = request.parse()?;
    let problems = store.incompatibilities(&subject, None, &schema).await?;
    Ok(Registry(verdict(problems, params.verbose())))
}

fn verdict(problems: Vec<String>, verbose: bool) -> Value {
    let compatible = problems.is_empty();
    if verbose {
        json!({ "is_compatible": compatible, "messages": problems })
    } else {
        json!({ "is_compatible": compatible })
    }
}
