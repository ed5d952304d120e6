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
    /// Reads `If-Match`; weak tags (`W/"3"`) and bare numbers are accepted, since the version is
    /// the whole representation's identity either way.
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
                let tag = tag.trim().trim_start_matches("W/").trim_matches('"');
                tag.parse::<i64>().map_err(|_| {
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
