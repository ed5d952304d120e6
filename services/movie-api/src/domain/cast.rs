//! A cast member: a name and, optionally, a nationality.

use super::optional;
use serde::Deserialize;
use utoipa::ToSchema;
use web::{FieldCheck, FieldErrors};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CastName(String);

impl CastName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, String> {
        web::text::one_line(raw, Self::MAX_CHARS).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nationality(String);

impl Nationality {
    pub const MAX_CHARS: usize = 50;

    pub fn parse(raw: &str) -> Result<Self, String> {
        web::text::one_line(raw, Self::MAX_CHARS).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The writable fields of a cast member, all valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CastFields {
    pub name: CastName,
    pub nationality: Option<Nationality>,
}

/// Body of `POST` and `PUT`: every field (nationality may be absent, null or blank).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CastInput {
    /// 1 to 100 characters, trimmed; no control characters.
    #[schema(schema_with = web::text::one_line_schema::<{ CastName::MAX_CHARS }>)]
    pub name: String,
    /// At most 50 characters; absent, null or blank for none.
    #[schema(schema_with = web::text::optional_one_line_schema::<{ Nationality::MAX_CHARS }>)]
    #[serde(default)]
    pub nationality: Option<String>,
}

/// Body of `PATCH` (JSON merge patch): absent fields stay, `"nationality": null` clears it.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CastPatch {
    #[schema(schema_with = web::text::one_line_schema::<{ CastName::MAX_CHARS }>)]
    #[serde(default, deserialize_with = "web::json::absent_or_value")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "web::json::present_or_null")]
    #[schema(schema_with = web::text::optional_one_line_schema::<{ Nationality::MAX_CHARS }>)]
    pub nationality: Option<Option<String>>,
}

fn parse_nationality(raw: Option<&str>) -> Result<Option<Nationality>, String> {
    optional(raw, Nationality::parse)
}

impl CastInput {
    pub fn parse(&self) -> Result<CastFields, FieldErrors> {
        let mut check = FieldCheck::default();
        let name = check.take("name", CastName::parse(&self.name));
        let nationality = check.take(
            "nationality",
            parse_nationality(self.nationality.as_deref()),
        );
        match (name, nationality) {
            (Some(name), Some(nationality)) => Ok(CastFields { name, nationality }),
            _ => Err(check.into_errors()),
        }
    }
}

impl CastPatch {
    /// The fields after applying this patch to `current`.
    pub fn apply(&self, current: &CastFields) -> Result<CastFields, FieldErrors> {
        let mut check = FieldCheck::default();
        let name = match &self.name {
            Some(n) => check.take("name", CastName::parse(n)),
            None => Some(current.name.clone()),
        };
        let nationality = match &self.nationality {
            Some(n) => check.take("nationality", parse_nationality(n.as_deref())),
            None => Some(current.nationality.clone()),
        };
        match (name, nationality) {
            (Some(name), Some(nationality)) => Ok(CastFields { name, nationality }),
            _ => Err(check.into_errors()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_1_to_100_characters() {
        assert_eq!(CastName::parse(" Mifune ").unwrap().as_str(), "Mifune");
        assert!(CastName::parse("").is_err());
        assert!(CastName::parse(&"x".repeat(100)).is_ok());
        assert!(CastName::parse(&"x".repeat(101)).is_err());
    }

    #[test]
    fn nationality_is_optional_and_at_most_50_characters() {
        assert_eq!(parse_nationality(None), Ok(None));
        assert_eq!(parse_nationality(Some(" ")), Ok(None));
        assert!(parse_nationality(Some(&"x".repeat(50))).unwrap().is_some());
        assert!(parse_nationality(Some(&"x".repeat(51))).is_err());
    }

    #[test]
    fn input_reports_every_bad_field() {
        let input = CastInput {
            name: " ".into(),
            nationality: Some("x".repeat(51)),
        };
        let errors = input.parse().unwrap_err();
        assert_eq!(errors.keys().collect::<Vec<_>>(), ["name", "nationality"]);
    }

    #[test]
    fn patch_keeps_absent_fields_and_clears_null_nationality() {
        let current = CastInput {
            name: "Ingrid Bergman".into(),
            nationality: Some("Swedish".into()),
        }
        .parse()
        .unwrap();
        let cleared: CastPatch = serde_json::from_str(r#"{"nationality": null}"#).unwrap();
        let next = cleared.apply(&current).unwrap();
        assert_eq!(next.name, current.name);
        assert_eq!(next.nationality, None);
        let untouched: CastPatch = serde_json::from_str("{}").unwrap();
        assert_eq!(untouched.apply(&current).unwrap(), current);
        let renamed: CastPatch = serde_json::from_str(r#"{"name": ""}"#).unwrap();
        assert!(renamed.apply(&current).unwrap_err().contains_key("name"));
    }
}
