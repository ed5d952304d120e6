//! The registry's REST surface, Confluent's paths and bodies, one module per resource group:
//! `subjects` (versions, registration, lookup, deletion), `schemas` (by global id), `compatibility`
//! (test a schema without registering it) and `config` (compatibility levels). `media` holds
//! the request and response conventions they share; errors map in [`crate::error`].

mod compatibility;
mod config;
pub mod media;
mod schemas;
mod subjects;

use crate::{error::RegistryError, schema::AvroSchema, store::RegistryStore};
use axum::{extract::DefaultBodyLimit, routing::get, Router};
use media::Registry;
use serde::Deserialize;

/// Largest accepted request body. Schemas of wide records outgrow the 64 KiB the other APIs
/// allow; Confluent Cloud caps a schema at 1 MB. This inner limit overrides the outer one.
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The registry behind `access`: reads open, every write needs an admin token.
pub fn router(store: RegistryStore, access: &web::auth::AccessPolicy) -> Router {
    let routes = Router::new()
        .route("/", get(|| async { Registry(serde_json::json!({})) }))
        .merge(subjects::router())
        .merge(schemas::router())
        .merge(compatibility::router())
        .merge(config::router())
        .with_state(store);
    let api = access
        .protect_writes(routes)
        .fallback(|| async { RegistryError::RouteNotFound })
        .method_not_allowed_fallback(|| async { RegistryError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    web::layers::apply(api)
}

/// The body of registration, lookup and compatibility requests.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SchemaRequest {
    schema: Option<String>,
    schema_type: Option<String>,
    #[serde(default)]
    references: Vec<serde_json::Value>,
}

impl SchemaRequest {
    fn parse(&self) -> Result<AvroSchema, RegistryError> {
        if !self.references.is_empty() {
            return Err(RegistryError::InvalidSchema(
                "schema references are not supported".to_owned(),
            ));
        }
        AvroSchema::parse(
            self.schema.as_deref().unwrap_or_default(),
            self.schema_type.as_deref(),
        )
    }
}
