//! `/config`: compatibility levels, global and per subject. A subject's own level overrides
//! the global one. Reads answer `{"compatibilityLevel": …}`, updates echo
//! `{"compatibility": …}`, as in Confluent.

use super::media::{Body, Params, PathParams, Registry};
use crate::{compatibility::CompatibilityLevel, error::RegistryError, store::RegistryStore};
use axum::{extract::State, routing::get, Router};
use serde::Deserialize;
use serde_json::{json, Value};

pub fn router() -> Router<RegistryStore> {
    Router::new()
        .route(
            "/config",
            get(get_global).put(put_global).delete(delete_global),
        )
        .route(
            "/config/{subject}",
            get(get_subject).put(put_subject).delete(delete_subject),
        )
}

type Result<T> = std::result::Result<T, RegistryError>;

#[derive(Debug, Deserialize)]
struct ConfigUpdate {
    compatibility: Option<String>,
}

impl ConfigUpdate {
    fn level(&self) -> Result<CompatibilityLevel> {
        CompatibilityLevel::parse(self.compatibility.as_deref().unwrap_or_default())
    }
}

fn current(level: CompatibilityLevel) -> Registry<Value> {
    Registry(json!({ "compatibilityLevel": level }))
}

fn updated(level: CompatibilityLevel) -> Registry<Value> {
    Registry(json!({ "compatibility": level }))
}

/// `GET /config` → `{"compatibilityLevel": "BACKWARD"}`.
async fn get_global(State(store): State<RegistryStore>) -> Result<Registry<Value>> {
    Ok(current(store.global_level().await?))
}

/// `PUT /config` `{"compatibility": "FULL"}` → `{"compatibility": "FULL"}`.
async fn put_global(
    State(store): State<RegistryStore>,
    Body(update): Body<ConfigUpdate>,
) -> Result<Registry<Value>> {
    let level = update.level()?;
    store.set_global_level(level).await?;
    tracing::info!(%level, "set the global compatibility level");
    Ok(updated(level))
}

/// `DELETE /config` → the level it had; the global level goes back to BACKWARD.
async fn delete_global(State(store): State<RegistryStore>) -> Result<Registry<Value>> {
    Ok(current(store.reset_global_level().await?))
}

/// `GET /config/{subject}` → the subject's own level; 40408 when it has none, unless
/// `?defaultToGlobal=true`.
async fn get_subject(
    State(store): State<RegistryStore>,
    PathParams(subject): PathParams<String>,
    params: Params,
) -> Result<Registry<Value>> {
    match store.subject_level(&subject).await? {
        Some(level) => Ok(current(level)),
        None if params.default_to_global() => Ok(current(store.global_level().await?)),
        None => Err(RegistryError::SubjectCompatibilityNotConfigured(subject)),
    }
}

/// `PUT /config/{subject}` `{"compatibility": …}`; the subject need not exist yet.
async fn put_subject(
    State(store): State<RegistryStore>,
    PathParams(subject): PathParams<String>,
    Body(update): Body<ConfigUpdate>,
) -> Result<Registry<Value>> {
    let level = update.level()?;
    store.set_subject_level(&subject, level).await?;
    tracing::info!(%subject, %level, "set a subject's compatibility level");
    Ok(updated(level))
}

/// `DELETE /config/{subject}` → the level it had; the subject follows the global level again.
/// 40401 when it had none (Confluent's answer).
async fn delete_subject(
    State(store): State<RegistryStore>,
    PathParams(subject): PathParams<String>,
) -> Result<Registry<Value>> {
    match store.delete_subject_level(&subject).await? {
        Some(level) => Ok(current(level)),
        None => Err(RegistryError::SubjectNotFound(subject)),
    }
}
