//! Confluent's wire conventions: the request bodies the registry accepts, the media type of
//! every response, errors as Confluent's error body, and query flags parsed the way Confluent
//! (JAX-RS) parses them.

use crate::error::RegistryError;
use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Query, Request},
    http::{header, request::Parts, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// The media type of every registry response.
pub const REGISTRY_JSON: &str = "application/vnd.schemaregistry.v1+json";

/// Request media types Confluent accepts; a request without a Content-Type is read as JSON too.
const ACCEPTED: [&str; 4] = [
    REGISTRY_JSON,
    "application/vnd.schemaregistry+json",
    "application/json",
    "application/octet-stream",
];

/// A JSON response in the registry's media type.
pub struct Registry<T>(pub T);

impl<T: Serialize> IntoResponse for Registry<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => RawJson(body).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "serializing a response");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }
}

/// A body that already is JSON text (a stored schema), sent in the registry's media type.
pub struct RawJson<B>(pub B);

impl<B: Into<axum::body::Body>> IntoResponse for RawJson<B> {
    fn into_response(self) -> Response {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(REGISTRY_JSON),
            )],
            self.0.into(),
        )
            .into_response()
    }
}

/// A JSON request body in one of the accepted media types: 415 for another type, 400 when it
/// is not JSON, 422 when it is JSON of the wrong shape.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = RegistryError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(content_type) = req.headers().get(header::CONTENT_TYPE) {
            let essence = content_type
                .to_str()
                .unwrap_or_default()
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            if !ACCEPTED.contains(&essence.as_str()) {
                return Err(RegistryError::UnsupportedMediaType(essence));
            }
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| RegistryError::MalformedRequest(e.body_text()))?;
        serde_json::from_slice(&bytes).map(Body).map_err(|e| {
            if e.is_data() {
                RegistryError::UnprocessableRequest(e.to_string())
            } else {
                RegistryError::MalformedRequest(e.to_string())
            }
        })
    }
}

/// The query parameters the registry understands. Flags are true only when spelled `true` (in
/// any case), like JAX-RS booleans; anything else, or absence, is false.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Params {
    deleted: Option<String>,
    permanent: Option<String>,
    verbose: Option<String>,
    default_to_global: Option<String>,
    subject_prefix: Option<String>,
}

fn is_true(flag: &Option<String>) -> bool {
    flag.as_deref()
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

impl Params {
    /// `?deleted=true`: include soft-deleted subjects and versions.
    pub fn deleted(&self) -> bool {
        is_true(&self.deleted)
    }

    /// `?permanent=true`: hard-delete (after a soft delete).
    pub fn permanent(&self) -> bool {
        is_true(&self.permanent)
    }

    /// `?verbose=true`: say why a schema is incompatible.
    pub fn verbose(&self) -> bool {
        is_true(&self.verbose)
    }

    /// `?defaultToGlobal=true`: a subject without its own level reports the global one.
    pub fn default_to_global(&self) -> bool {
        is_true(&self.default_to_global)
    }

    /// `?subjectPrefix=…`: only subjects starting with it.
    pub fn subject_prefix(&self) -> &str {
        self.subject_prefix.as_deref().unwrap_or_default()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = RegistryError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Query::<Params>::try_from_uri(&parts.uri)
            .map(|Query(params)| params)
            .map_err(|e| RegistryError::MalformedRequest(e.body_text()))
    }
}

/// Path parameters, with a registry error body when they cannot be decoded.
pub struct PathParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParams<T> {
    type Rejection = RegistryError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| PathParams(value))
            .map_err(|e| RegistryError::MalformedRequest(e.body_text()))
    }
}

/// Confluent's error body.
#[derive(Debug, Serialize)]
struct ErrorBody {
    error_code: u32,
    message: String,
}

impl IntoResponse for RegistryError {
    fn into_response(self) -> Response {
        match &self {
            RegistryError::Store(cause) => tracing::error!(%cause, "schema registry store error"),
            RegistryError::InUseUnknown(cause) => {
                tracing::error!(%cause, "could not ask Kafka whether a schema is in use")
            }
            _ => {}
        }
        let body = ErrorBody {
            error_code: self.error_code(),
            message: self.to_string(),
        };
        (self.status(), Registry(body)).into_response()
    }
}
