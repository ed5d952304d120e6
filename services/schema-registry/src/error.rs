//! The registry's one error type and its Confluent error codes: `http::media` turns it into
//! Confluent's error body, `{"error_code": 40401, "message": "Subject 'x' not found."}`, whose
//! HTTP status is the first three digits of the code. This module sits below the HTTP layer and
//! imports nothing from it. Clients (the Java and Rust serializers, kafka-ui, …) branch on
//! these codes, so they and their messages follow Confluent's.

use axum::http::StatusCode;

/// What a request can fail with. Internal detail (a database error) is logged, never sent.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("Subject '{0}' not found.")]
    SubjectNotFound(String),
    #[error("Version {0} not found.")]
    VersionNotFound(i32),
    /// A schema id that is unknown, or a schema not registered under the subject (`None`).
    #[error("{}", match .0 { Some(id) => format!("Schema {id} not found"), None => "Schema not found".to_owned() })]
    SchemaNotFound(Option<i32>),
    #[error("Subject '{0}' was soft deleted.Set permanent=true to delete permanently")]
    SubjectSoftDeleted(String),
    #[error("Subject '{0}' was not deleted first before being permanently deleted")]
    SubjectNotSoftDeleted(String),
    #[error("Subject '{0}' Version {1} was soft deleted.Set permanent=true to delete permanently")]
    VersionSoftDeleted(String, i32),
    #[error("Subject '{0}' Version {1} was not deleted first before being permanently deleted")]
    VersionNotSoftDeleted(String, i32),
    #[error("Subject '{0}' does not have subject-level compatibility configured")]
    SubjectCompatibilityNotConfigured(String),
    #[error("Schema being registered is incompatible with an earlier schema for subject \"{subject}\", details: [{}]", .details.join("; "))]
    IncompatibleSchema {
        subject: String,
        details: Vec<String>,
    },
    #[error("Invalid schema: {0}")]
    InvalidSchema(String),
    #[error("The specified version '{0}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"")]
    InvalidVersion(String),
    #[error("Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive")]
    InvalidCompatibilityLevel,
    /// The body is not JSON at all.
    #[error("Unexpected request body: {0}")]
    MalformedRequest(String),
    /// The body is JSON of the wrong shape.
    #[error("Unprocessable request body: {0}")]
    UnprocessableRequest(String),
    #[error("Unsupported media type {0}")]
    UnsupportedMediaType(String),
    #[error("HTTP 404 Not Found")]
    RouteNotFound,
    #[error("HTTP 405 Method Not Allowed")]
    MethodNotAllowed,
    /// A write without a valid token (`0` says why).
    #[error("Unauthorized: {0}")]
    Unauthorized(String),
    /// A write with a token whose role may only read.
    #[error("Forbidden: {0}")]
    Forbidden(String),
    /// A permanent delete would stop serving ids the subject's topic may still need.
    #[error("Schema(s) {ids:?} still in use: topic '{topic}' holds {records} record(s) that may be encoded with them; delete the topic (or let retention empty it) before deleting the schema permanently")]
    SchemaInUse {
        ids: Vec<i32>,
        topic: String,
        records: i64,
    },
    /// Kafka could not be asked whether a schema is in use; `0` is for the log only.
    #[error("Could not tell whether the schema is still in use (Kafka did not answer); nothing was deleted")]
    InUseUnknown(String),
    /// PostgreSQL failed or is unreachable; `0` is for the log only.
    #[error("Error in the backend data store")]
    Store(String),
}

impl From<diesel::result::Error> for RegistryError {
    fn from(e: diesel::result::Error) -> Self {
        RegistryError::Store(e.to_string())
    }
}

impl RegistryError {
    /// Confluent's error code; its first three digits are the HTTP status.
    pub fn error_code(&self) -> u32 {
        use RegistryError::*;
        match self {
            SubjectNotFound(_) => 40401,
            VersionNotFound(_) => 40402,
            SchemaNotFound(_) => 40403,
            SubjectSoftDeleted(_) => 40404,
            SubjectNotSoftDeleted(_) => 40405,
            VersionSoftDeleted(..) => 40406,
            VersionNotSoftDeleted(..) => 40407,
            SubjectCompatibilityNotConfigured(_) => 40408,
            IncompatibleSchema { .. } => 409,
            InvalidSchema(_) => 42201,
            InvalidVersion(_) => 42202,
            InvalidCompatibilityLevel => 42203,
            SchemaInUse { .. } => 42206,
            MalformedRequest(_) => 400,
            UnprocessableRequest(_) => 422,
            UnsupportedMediaType(_) => 415,
            RouteNotFound => 404,
            MethodNotAllowed => 405,
            Unauthorized(_) => 40101,
            Forbidden(_) => 40301,
            Store(_) => 50001,
            InUseUnknown(_) => 50002,
        }
    }

    pub fn status(&self) -> StatusCode {
        let code = self.error_code();
        let status = if code >= 1000 { code / 100 } else { code };
        StatusCode::from_u16(status as u16).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}
