//! `ValidJson<T>`: axum's `Json` with errors in the platform format.
//!
//! Syntax errors are 400 `malformed_json`; a well-formed body whose field has the wrong type or
//! is missing is 422 naming that field (found with `serde_path_to_error`); a missing or foreign
//! content type is 415; a body over the limit is 413.

use crate::ApiError;
use axum::{
    extract::{FromRequest, Request},
    http::header::CONTENT_TYPE,
};
use bytes::Bytes;
use serde::de::DeserializeOwned;

pub struct ValidJson<T>(pub T);

impl<S, T> FromRequest<S> for ValidJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim();
                mime.eq_ignore_ascii_case("application/json") || mime.ends_with("+json")
            });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|rejection| match rejection {
                axum::extract::rejection::BytesRejection::FailedToBufferBody(e)
                    if is_length_limit(&e) =>
                {
                    ApiError::PayloadTooLarge {
                        limit: crate::layers::MAX_BODY_BYTES,
                    }
                }
                other => ApiError::BadRequest(other.body_text()),
            })?;
        require_object(&bytes)?;
        parse(&bytes).map(ValidJson)
    }
}

/// A body a client may leave out: no body (a bare `curl -X POST`), or a JSON `null`, is
/// `T::default()`; any other body is read as [`ValidJson`] reads it.
pub struct OptionalJson<T>(pub T);

impl<S, T> FromRequest<S> for OptionalJson<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !has_body(&req) {
            return Ok(OptionalJson(T::default()));
        }
        let ValidJson(body) = ValidJson::<Option<T>>::from_request(req, state).await?;
        Ok(OptionalJson(body.unwrap_or_default()))
    }
}

fn has_body(request: &Request) -> bool {
    let headers = request.headers();
    let length = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match length {
        Some(n) => n > 0,
        None => headers.contains_key(axum::http::header::TRANSFER_ENCODING),
    }
}

/// No body the platform takes is a JSON array, but serde would read a struct from an array of
/// its fields (`[]` as a patch of nothing), which no document allows: 422. (Other non-objects
/// fail to deserialize anyway, and `null` is a valid optional body.)
fn require_object(bytes: &[u8]) -> Result<(), ApiError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    let well_formed = || serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok();
    if first == Some(&b'[') && well_formed() {
        return Err(ApiError::field("body", "must be a JSON object"));
    }
    Ok(())
}

fn is_length_limit(e: &axum::extract::rejection::FailedToBufferBody) -> bool {
    matches!(
        e,
        axum::extract::rejection::FailedToBufferBody::LengthLimitError(_)
    )
}

/// Parses a JSON body, naming the field at fault. A body must be one JSON value (trailing
/// bytes are malformed), and no string may hold a NUL character, which PostgreSQL cannot store.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value: T = match deserialize(de) {
        Err(ApiError::Validation(first)) => match integral_floats_as_integers(bytes) {
            Some(value) => from_value(value)?,
            None => return Err(ApiError::Validation(first)),
        },
        other => {
            let value = other?;
            de.end()
                .map_err(|e| ApiError::MalformedJson(format!("{e} (after the JSON value)")))?;
            value
        }
    };
    if let Some(field) = nul_field(bytes) {
        return Err(ApiError::field(
            field,
            "must not contain the NUL character (\\u0000)",
        ));
    }
    Ok(value)
}

/// The path of the first string holding `\u0000`, if any. JSON can carry a NUL only escaped,
/// so the raw bytes are searched first and the body is walked only when one is there.
fn nul_field(bytes: &[u8]) -> Option<String> {
    if !bytes.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000")) {
        return None;
    }
    fn walk(value: &serde_json::Value, path: String) -> Option<String> {
        match value {
            serde_json::Value::String(s) if s.contains('\0') => Some(path),
            serde_json::Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, v)| walk(v, format!("{path}[{i}]"))),
            serde_json::Value::Object(fields) => fields.iter().find_map(|(k, v)| {
                let key = if k.contains('\0') {
                    k.replace('\0', "\\u0000")
                } else {
                    k.clone()
                };
                let path = if path.is_empty() {
                    key
                } else {
                    format!("{path}.{key}")
                };
                if k.contains('\0') {
                    Some(path)
                } else {
                    walk(v, path)
                }
            }),
            _ => None,
        }
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    walk(&value, String::new()).map(|p| if p.is_empty() { ".".to_owned() } else { p })
}

/// JSON has one number type and JSON Schema calls `1954.0` an integer, so a client (or a
/// generator following the OpenAPI document) may send one where an integer field is expected;
/// serde would refuse it. The body with every integral float made an integer, if it had any.
fn integral_floats_as_integers(bytes: &[u8]) -> Option<serde_json::Value> {
    fn walk(value: &mut serde_json::Value) -> bool {
        match value {
            serde_json::Value::Number(n) if n.is_f64() => {
                let f = n.as_f64().unwrap_or(f64::NAN);
                // Beyond 2^53 a float no longer names one integer.
                if f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0 {
                    *value = serde_json::Value::from(f as i64);
                    true
                } else {
                    false
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().map(walk).fold(false, |a, b| a | b),
            serde_json::Value::Object(fields) => {
                fields.values_mut().map(walk).fold(false, |a, b| a | b)
            }
            _ => false,
        }
    }
    let mut value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    walk(&mut value).then_some(value)
}

fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let field = if path == "." {
            missing_field(&inner).unwrap_or(path)
        } else {
            path
        };
        ApiError::field(field, strip_position(&inner.to_string()))
    })
}

fn deserialize<'de, T: DeserializeOwned>(
    de: &mut serde_json::Deserializer<serde_json::de::SliceRead<'de>>,
) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        use serde_json::error::Category;
        match inner.classify() {
            Category::Syntax | Category::Eof | Category::Io => {
                ApiError::MalformedJson(inner.to_string())
            }
            Category::Data => {
                let field = if path == "." {
                    missing_field(&inner).unwrap_or(path)
                } else {
                    path
                };
                ApiError::field(field, strip_position(&inner.to_string()))
            }
        }
    })
}

/// For merge-patch bodies: on an `Option<Option<T>>` field with `#[serde(default,
/// deserialize_with = "web::json::present_or_null")]`, `"field": null` becomes `Some(None)`
/// (clear it) while an absent field stays `None` (keep it).
pub fn present_or_null<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

/// For merge-patch bodies: on a required field (`Option<T>` with `#[serde(default,
/// deserialize_with = "web::json::absent_or_value")]`), absence keeps the value and `null`,
/// which in a merge patch removes a field, is refused rather than read as "keep".
pub fn absent_or_value<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    use serde::de::Error;
    <Option<T> as serde::Deserialize>::deserialize(d)?
        .map(Some)
        .ok_or_else(|| {
            D::Error::custom("must not be null: the field is required (leave it out to keep it)")
        })
}

/// serde reports a missing field at the parent's path; pull the name out of its message.
fn missing_field(err: &serde_json::Error) -> Option<String> {
    let text = err.to_string();
    let start = text.find("missing field `")? + "missing field `".len();
    let end = text[start..].find('`')? + start;
    Some(text[start..end].to_owned())
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        age: u8,
    }

    fn details(err: ApiError) -> Vec<String> {
        match err {
            ApiError::Validation(d) => d.into_keys().collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn an_integral_float_is_an_integer_and_a_fraction_is_not() {
        let body = parse::<Body>(br#"{"name": "a", "age": 42.0}"#).unwrap();
        assert_eq!(body.age, 42);
        assert_eq!(
            details(parse::<Body>(br#"{"name": "a", "age": 42.5}"#).unwrap_err()),
            ["age"]
        );
        assert_eq!(
            details(parse::<Body>(br#"{"name": "a", "age": 4200.0}"#).unwrap_err()),
            ["age"]
        );
    }

    #[test]
    fn syntax_error_is_malformed_json() {
        assert!(matches!(
            parse::<Body>(b"{\"name\": "),
            Err(ApiError::MalformedJson(_))
        ));
    }

    #[test]
    fn wrong_type_names_the_field() {
        assert_eq!(
            details(parse::<Body>(br#"{"name": 5, "age": 1}"#).unwrap_err()),
            ["name"]
        );
    }

    #[test]
    fn missing_field_names_the_field() {
        assert_eq!(
            details(parse::<Body>(br#"{"name": "x"}"#).unwrap_err()),
            ["age"]
        );
    }

    #[test]
    fn trailing_bytes_after_the_value_are_malformed_json() {
        assert!(parse::<Body>(b"{\"name\": \"x\", \"age\": 1} \n").is_ok());
        for trailing in [
            &b"{\"name\": \"x\", \"age\": 1}x"[..],
            b"{\"name\": \"x\", \"age\": 1}{}",
        ] {
            assert!(matches!(
                parse::<Body>(trailing),
                Err(ApiError::MalformedJson(_))
            ));
        }
    }

    #[test]
    fn a_nul_in_a_string_names_the_field_and_an_escaped_backslash_does_not() {
        assert_eq!(
            details(parse::<Body>(br#"{"name": "a\u0000b", "age": 1}"#).unwrap_err()),
            ["name"]
        );
        assert!(parse::<Body>(br#"{"name": "a\\u0000b", "age": 1}"#).is_ok());
    }

    #[test]
    fn unknown_field_is_a_validation_error() {
        let err = parse::<Body>(br#"{"name": "x", "age": 1, "nick": "y"}"#).unwrap_err();
        assert!(matches!(err, ApiError::Validation(_)));
    }

    #[test]
    fn a_body_that_is_a_json_array_is_refused() {
        assert!(require_object(b" {\"a\": 1}").is_ok());
        assert!(matches!(
            require_object(b"[]"),
            Err(ApiError::Validation(d)) if d.contains_key("body")
        ));
        assert!(
            require_object(b"null").is_ok(),
            "an optional body may be null"
        );
        // Not JSON at all: left to the parser, which says it is malformed.
        assert!(require_object(b"[oops").is_ok());
    }
}
