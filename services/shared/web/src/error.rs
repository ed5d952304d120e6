//! The platform's error format and the single mapping from errors to HTTP responses.
//!
//! Every 4xx/5xx body is `{"error": "<stable code>", "message": "<for people>", "details": {..}}`.
//! Internal causes are logged and never sent to the client.

use axum::{
    http::{
        header::{RETRY_AFTER, WWW_AUTHENTICATE},
        HeaderValue, StatusCode,
    },
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
    #[error("this method is not allowed here; `Allow` lists the ones that are")]
    MethodNotAllowed,
    /// Any other status the framework answered by itself, without a body.
    #[error("{}", .0.canonical_reason().unwrap_or("request refused"))]
    Status(StatusCode),
    #[error("request body exceeds the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("expected Content-Type: application/json")]
    UnsupportedMediaType,
    /// No valid credentials. `challenge` is the `WWW-Authenticate` value telling the client how
    /// to authenticate (`Bearer realm=...`, `Basic realm=...`).
    #[error("{message}")]
    Unauthorized { message: String, challenge: String },
    /// Valid credentials that do not allow this request.
    #[error("{0}")]
    Forbidden(String),
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_secs: u64,
    },
    #[error("{0}")]
    Unavailable(String),
    /// An upstream service could not be reached or answered nonsense (gateway).
    #[error("{0}")]
    BadGateway(String),
    /// An upstream service did not answer in time (gateway).
    #[error("{0}")]
    GatewayTimeout(String),
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
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::Status(status) => (*status, "request_refused"),
            ApiError::PayloadTooLarge { .. } => {
                (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
            }
            ApiError::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::Unauthorized { .. } => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::TooManyRequests { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "too_many_requests")
            }
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::BadGateway(_) => (StatusCode::BAD_GATEWAY, "bad_gateway"),
            ApiError::GatewayTimeout(_) => (StatusCode::GATEWAY_TIMEOUT, "gateway_timeout"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let extra_header = match &self {
            ApiError::Unauthorized { challenge, .. } => HeaderValue::from_str(challenge)
                .ok()
                .map(|v| (WWW_AUTHENTICATE, v)),
            ApiError::TooManyRequests {
                retry_after_secs, ..
            } => Some((RETRY_AFTER, HeaderValue::from(*retry_after_secs))),
            _ => None,
        };
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
            ApiError::Unavailable(ref cause)
            | ApiError::BadGateway(ref cause)
            | ApiError::GatewayTimeout(ref cause) => {
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
        let mut response = (status, Json(problem)).into_response();
        if let Some((name, value)) = extra_header {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

fn listing(what: &str, details: &FieldErrors) -> String {
    let names: Vec<&str> = details.keys().map(String::as_str).collect();
    format!("{what}: {}", names.join(", "))
}
