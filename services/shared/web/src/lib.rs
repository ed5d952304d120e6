//! HTTP conventions every API shares.
//!
//! - [`auth`]: bearer JWTs (role `admin` writes, `reader` reads) and the middleware checking them.
//! - [`error`]: `ApiError`, the one place errors become HTTP responses (`{error, message, details}`).
//! - [`json`]: a JSON body extractor whose failures name the offending field.
//! - [`etag`]: versions as ETags and `If-Match` handling.
//! - [`layers`]: request ids, request tracing and the body size limit.
//! - [`openapi`]: what every OpenAPI document states about these conventions.
//! - [`text`]: free-text fields (trimmed, bounded, no control characters) and their schemas.
//! - [`paging`]: `limit` / `cursor` / `offset` listing parameters and keyset cursors.

pub mod auth;
pub mod error;
pub mod etag;
pub mod json;
pub mod layers;
pub mod openapi;
pub mod paging;
pub mod text;

pub use error::{ApiError, FieldCheck, FieldErrors, Problem};
pub use json::ValidJson;
