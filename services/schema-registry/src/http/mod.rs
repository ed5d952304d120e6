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
use axum::{
    extract::{DefaultBodyLimit, Request, State},
    middleware::{self, Next},
    response::Response,
    routing::get,
    Router,
};
use media::Registry;
use serde::Deserialize;
use web::auth::{is_write, AccessPolicy, JwtKeys, Role};

/// Largest accepted request body. Schemas of wide records outgrow the 64 KiB the other APIs
/// allow; Confluent Cloud caps a schema at 1 MB. This inner limit overrides the outer one.
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The registry behind `access`: reads open, every write needs an admin token.
pub fn router(store: RegistryStore, access: &AccessPolicy) -> Router {
    let routes = Router::new()
        .route("/", get(|| async { Registry(serde_json::json!({})) }))
        .merge(subjects::router())
        .merge(schemas::router())
        .merge(compatibility::router())
        .merge(config::router())
        .with_state(store);
    let routes = match access {
        AccessPolicy::Open => routes,
        AccessPolicy::Jwt(keys) => routes.route_layer(middleware::from_fn_with_state(
            keys.clone(),
            writes_need_an_admin,
        )),
    };
    let api = routes
        .fallback(|| async { RegistryError::RouteNotFound })
        .method_not_allowed_fallback(|| async { RegistryError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    web::layers::apply(api)
}

/// Reads are open, as on Confluent's registry; every other method needs an admin token. The
/// refusal is in Confluent's error format (40101, 40301), which its clients can read.
async fn writes_need_an_admin(
    State(keys): State<JwtKeys>,
    request: Request,
    next: Next,
) -> Result<Response, RegistryError> {
    if is_write(request.method()) {
        let claims = keys
            .authenticate(request.headers())
            .map_err(|e| RegistryError::Unauthorized(e.to_string()))?;
        if claims.role != Role::Admin {
            return Err(RegistryError::Forbidden(format!(
                "role {} may only read; {} needs role admin",
                claims.role.as_str(),
                request.method()
            )));
        }
    }
    Ok(next.run(request).await)
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
