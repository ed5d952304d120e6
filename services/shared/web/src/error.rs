//! The platform's error format and the single mapping from errors to HTTP responses.
//!
//! Every 4xx/5xx body is `{"error": "<stable code>", "message": "<for people>", "details": {..}}`.
//! Internal causes are logged and never sent to the client.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Per-field messages, keyed by the field's JSON path (`email`, `items[2].qty`).
pub type FieldErrors = BTreeMap<String, String>;

/// The JSON body of every error response.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct Problem {
    /// Stable machine-readable code, e.g. `validation_failed`.
    pub error: String,
    /// Human-readable explanation.
    pub message: String,
    /// Per-field messages (empty when the error is not about fields).
    pub details: FieldErrors,
}

/// Gathers the outcome of parsing each field of a request, so that the client learns every
/// mistake in one response rather than one per round trip.
#[derive(Debug, Default)]
pub struct FieldCheck(FieldErrors);

impl FieldCheck {
    /// The parsed value, or `None` after recording the field's error.
    pub fn take<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        result.map_err(|e| self.add(field, e)).ok()
    }

    pub fn add(&mut self, field: &str, message: String) {
        self.0.insert(field.to_owned(), message);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_errors(self) -> FieldErrors {
        self.0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("malformed request: {0}")]
    BadRequest(String),
    #[error("invalid query parameter(s)")]
    InvalidQuery(FieldErrors),
    #[error("request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("validation failed")]
    Validation(FieldErrors),
    #[error("{0}")]
    NotFound(String),
    #[error("{message}")]
    Conflict {
        message: String,
        details: FieldErrors,
    },
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("request body exceeds the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("expected Content-Type: application/json")]
    UnsupportedMediaType,
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A validation failure on one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation(BTreeMap::from([(field.into(), message.into())]))
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError::Internal(cause.to_string())
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::InvalidQuery(_) => (StatusCode::BAD_REQUEST, "invalid_query"),
            ApiError::MalformedJson(_) => (StatusCode::BAD_REQUEST, "malformed_json"),
            ApiError::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict { .. } => (StatusCode::CONFLICT, "conflict"),
            ApiError::PreconditionFailed(_) => {
                (StatusCode::PRECONDITION_FAILED, "precondition_failed")
            }
            ApiError::PayloadTooLarge { .. } => {
                (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
            }
            ApiError::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let (message, details) = match self {
            ApiError::Validation(details) => (listing("invalid field(s)", &details), details),
            ApiError::InvalidQuery(details) => {
                (listing("invalid query parameter(s)", &details), details)
            }
            ApiError::Conflict { message, details } => (message, details),
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "request failed");
                (
                    "an internal error occurred; it has been logged".to_owned(),
                    FieldErrors::new(),
                )
            }
            ApiError::Unavailable(ref cause) => {
                tracing::warn!(%cause, "dependency unavailable");
                (self.to_string(), FieldErrors::new())
            }
            other => (other.to_string(), FieldErrors::new()),
        };
        let problem = Problem {
            error: code.to_owned(),
            message,
            details,
        };
        (status, Json(problem)).into_response()
    }
}

fn listing(what: &str, details: &FieldErrors) -> String {
    let names: Vec<&str> = details.keys().map(String::as_str).collect();
    format!("{what}: {}", names.join(", "))
}
