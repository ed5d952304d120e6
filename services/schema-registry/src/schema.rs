//! A submitted schema, parsed: valid Avro, with the normalised form that decides identity.
//!
//! Two submissions are the same schema when their JSON is equal after sorting object keys and
//! dropping insignificant whitespace; that is what gives them the same id. Avro's Parsing
//! Canonical Form is not used for identity on purpose: it drops `default`, `doc` and `aliases`,
//! and adding a default to a field is exactly the kind of change that must mint a new version.

use crate::error::RegistryError;
use apache_avro::Schema;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The only schema type this registry serves.
pub const AVRO: &str = "AVRO";

#[derive(Debug, Clone)]
pub struct AvroSchema {
    text: String,
    canonical: String,
    parsed: Schema,
}

impl AvroSchema {
    /// Parses the `schema` string of a request. `schema_type` is the request's `schemaType`
    /// (absent means AVRO, as in Confluent).
    pub fn parse(text: &str, schema_type: Option<&str>) -> Result<Self, RegistryError> {
        if let Some(other) = schema_type.filter(|t| !t.eq_ignore_ascii_case(AVRO)) {
            return Err(RegistryError::InvalidSchema(format!(
                "unsupported schema type {other}; this registry supports AVRO only"
            )));
        }
        if text.trim().is_empty() {
            return Err(RegistryError::InvalidSchema("Empty schema".to_owned()));
        }
        let json: Value = serde_json::from_str(text)
            .map_err(|e| RegistryError::InvalidSchema(format!("not JSON: {e}")))?;
        let parsed =
            Schema::parse(&json).map_err(|e| RegistryError::InvalidSchema(e.to_string()))?;
        Ok(Self {
            text: text.to_owned(),
            canonical: sorted(json).to_string(),
            parsed,
        })
    }

    /// The schema exactly as submitted.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Compact JSON with sorted keys: equal for submissions that differ only in layout.
    pub fn canonical(&self) -> &str {
        &self.canonical
    }

    /// SHA-256 of [`AvroSchema::canonical`], the key the store looks schemas up by.
    pub fn fingerprint(&self) -> Vec<u8> {
        Sha256::digest(self.canonical.as_bytes()).to_vec()
    }

    pub fn avro(&self) -> &Schema {
        &self.parsed
    }
}

/// `value` with the keys of every object in sorted order (inserted in order, so the result is
/// sorted whether or not serde_json preserves insertion order).
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sorted(v)))
                    .collect::<Map<_, _>>(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// Which version of a subject a path names: a number, or `latest` (also spelled `-1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSelector {
    Latest,
    Number(i32),
}

impl VersionSelector {
    pub fn parse(raw: &str) -> Result<Self, RegistryError> {
        if raw.eq_ignore_ascii_case("latest") || raw == "-1" {
            return Ok(Self::Latest);
        }
        match raw.parse::<i32>() {
            Ok(n) if n >= 1 => Ok(Self::Number(n)),
            _ => Err(RegistryError::InvalidVersion(raw.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: &str = r#"{"type":"record","name":"User","namespace":"example","fields":[{"name":"id","type":"long"},{"name":"name","type":"string"}]}"#;

    #[test]
    fn layout_and_key_order_do_not_change_the_canonical_form() {
        let reordered = r#"
            { "namespace": "example", "name": "User", "type": "record",
              "fields": [ {"type": "long", "name": "id"}, {"name": "name", "type": "string"} ] }"#;
        let a = AvroSchema::parse(RECORD, None).unwrap();
        let b = AvroSchema::parse(reordered, Some("AVRO")).unwrap();
        assert_eq!(a.canonical(), b.canonical());
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_eq!(b.text(), reordered, "the submitted text is kept as given");
    }

    #[test]
    fn field_order_and_defaults_are_part_of_the_identity() {
        let swapped = r#"{"type":"record","name":"User","namespace":"example","fields":[{"name":"name","type":"string"},{"name":"id","type":"long"}]}"#;
        let defaulted = r#"{"type":"record","name":"User","namespace":"example","fields":[{"name":"id","type":"long"},{"name":"name","type":"string","default":""}]}"#;
        let base = AvroSchema::parse(RECORD, None).unwrap().fingerprint();
        for other in [swapped, defaulted] {
            assert_ne!(AvroSchema::parse(other, None).unwrap().fingerprint(), base);
        }
    }

    #[test]
    fn invalid_schemas_and_other_types_are_rejected() {
        for (text, schema_type) in [
            ("", None),
            ("{not json", None),
            (r#"{"type":"record","name":"X"}"#, None),
            (r#"{"type":"nonsense"}"#, None),
            (r#""string""#, Some("PROTOBUF")),
        ] {
            let err = AvroSchema::parse(text, schema_type).unwrap_err();
            assert_eq!(err.error_code(), 42201, "{text}: {err}");
        }
        assert!(AvroSchema::parse(r#""string""#, Some("avro")).is_ok());
    }

    #[test]
    fn versions_are_positive_numbers_or_latest() {
        assert_eq!(
            VersionSelector::parse("latest").unwrap(),
            VersionSelector::Latest
        );
        assert_eq!(
            VersionSelector::parse("-1").unwrap(),
            VersionSelector::Latest
        );
        assert_eq!(
            VersionSelector::parse("3").unwrap(),
            VersionSelector::Number(3)
        );
        for bad in ["0", "-2", "abc", "2147483648", "1.5"] {
            assert_eq!(VersionSelector::parse(bad).unwrap_err().error_code(), 42202);
        }
    }
}
