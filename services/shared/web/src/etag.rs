//! Optimistic concurrency: an aggregate's version is its ETag (`"3"`), and `If-Match` must name
//! the current one for a write to proceed.

use crate::ApiError;
use axum::http::{header, HeaderMap, HeaderValue};

pub fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).expect("a quoted number is a valid header")
}

/// What an `If-Match` header demands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    /// No header, or `*`: any current version will do.
    Any,
    /// One of these versions.
    Versions(Vec<i64>),
}

impl IfMatch {
    /// Reads `If-Match`: `*`, or a comma-separated list of version tags (`"3"`). Weak tags
    /// (`W/"3"`) and bare numbers are accepted, since the version is the whole
    /// representation's identity either way; anything else is 400.
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, ApiError> {
        let Some(raw) = headers.get(header::IF_MATCH) else {
            return Ok(IfMatch::Any);
        };
        let raw = raw
            .to_str()
            .map_err(|_| ApiError::BadRequest("If-Match is not valid text".into()))?;
        if raw.trim() == "*" {
            return Ok(IfMatch::Any);
        }
        raw.split(',')
            .map(|tag| {
                version(tag.trim()).ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "If-Match must carry a version ETag like \"3\", got {raw}"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(IfMatch::Versions)
    }

    /// Whether a write may proceed on version `current`.
    pub fn allows(&self, current: i64) -> bool {
        match self {
            IfMatch::Any => true,
            IfMatch::Versions(versions) => versions.contains(&current),
        }
    }
}

/// The version a tag names: `"3"`, `W/"3"` or `3`, 1 to 18 digits (as
/// [`crate::openapi::IF_MATCH_PATTERN`] documents).
fn version(tag: &str) -> Option<i64> {
    let tag = tag.strip_prefix("W/").unwrap_or(tag);
    let digits = match tag.strip_prefix('"') {
        Some(quoted) => quoted.strip_suffix('"')?,
        None => tag,
    };
    if (1..=18).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::IF_MATCH, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn quoted_weak_and_bare_versions_parse() {
        assert_eq!(
            IfMatch::from_headers(&headers("\"3\"")).unwrap(),
            IfMatch::Versions(vec![3])
        );
        assert_eq!(
            IfMatch::from_headers(&headers("W/\"4\", 5")).unwrap(),
            IfMatch::Versions(vec![4, 5])
        );
        assert_eq!(IfMatch::from_headers(&headers("*")).unwrap(), IfMatch::Any);
        assert_eq!(
            IfMatch::from_headers(&HeaderMap::new()).unwrap(),
            IfMatch::Any
        );
    }

    #[test]
    fn only_named_versions_are_allowed() {
        assert!(!IfMatch::Versions(vec![2]).allows(3));
        assert!(IfMatch::Versions(vec![3]).allows(3));
        assert!(IfMatch::Any.allows(9));
    }

    #[test]
    fn garbage_is_bad_request() {
        assert!(matches!(
            IfMatch::from_headers(&headers("abc")),
            Err(ApiError::BadRequest(_))
        ));
    }
}
