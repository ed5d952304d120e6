//! Compatibility levels and the rule that decides whether a schema may follow earlier ones.
//!
//! The check itself is Avro schema resolution (`apache_avro`'s `SchemaCompatibility::can_read`,
//! writer first, reader second):
//!
//! | level | the new schema must … |
//! |---|---|
//! | `BACKWARD` | read data written with the latest version |
//! | `FORWARD` | be readable by the latest version |
//! | `FULL` | both |
//! | `*_TRANSITIVE` | the same, against every (non-deleted) version, not only the latest |
//! | `NONE` | nothing |
//!
//! A pair that resolves only partly (a reader union or enum that lacks some of the writer's
//! branches or symbols) counts as incompatible, as in Java Avro, which Confluent uses.

use crate::error::RegistryError;
use apache_avro::{
    schema_compatibility::{Compatibility, SchemaCompatibility},
    Schema,
};
use serde::{Serialize, Serializer};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CompatibilityLevel {
    None,
    #[default]
    Backward,
    BackwardTransitive,
    Forward,
    ForwardTransitive,
    Full,
    FullTransitive,
}

impl CompatibilityLevel {
    pub const ALL: [CompatibilityLevel; 7] = [
        Self::None,
        Self::Backward,
        Self::BackwardTransitive,
        Self::Forward,
        Self::ForwardTransitive,
        Self::Full,
        Self::FullTransitive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "NONE",
            Self::Backward => "BACKWARD",
            Self::BackwardTransitive => "BACKWARD_TRANSITIVE",
            Self::Forward => "FORWARD",
            Self::ForwardTransitive => "FORWARD_TRANSITIVE",
            Self::Full => "FULL",
            Self::FullTransitive => "FULL_TRANSITIVE",
        }
    }

    /// Parses a level name, in any case (`backward`, `FULL_TRANSITIVE`).
    pub fn parse(name: &str) -> Result<Self, RegistryError> {
        Self::ALL
            .into_iter()
            .find(|level| level.as_str().eq_ignore_ascii_case(name.trim()))
            .ok_or(RegistryError::InvalidCompatibilityLevel)
    }

    /// Whether a new schema is checked against every earlier version or only the latest.
    pub fn is_transitive(self) -> bool {
        matches!(
            self,
            Self::BackwardTransitive | Self::ForwardTransitive | Self::FullTransitive
        )
    }

    fn backward(self) -> bool {
        matches!(
            self,
            Self::Backward | Self::BackwardTransitive | Self::Full | Self::FullTransitive
        )
    }

    fn forward(self) -> bool {
        matches!(
            self,
            Self::Forward | Self::ForwardTransitive | Self::Full | Self::FullTransitive
        )
    }
}

impl fmt::Display for CompatibilityLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for CompatibilityLevel {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// An earlier version of a subject, as the check sees it.
#[derive(Debug, Clone)]
pub struct Earlier {
    pub version: i32,
    pub schema: Schema,
}

/// Checks `new` against a subject's history (oldest first) under `level`: every version when
/// the level is transitive, else the latest. Returns why it is incompatible; empty when it is
/// compatible.
pub fn check_against_history(
    level: CompatibilityLevel,
    new: &Schema,
    history: &[Earlier],
) -> Vec<String> {
    let relevant = if level.is_transitive() {
        history
    } else {
        history.last().map(std::slice::from_ref).unwrap_or_default()
    };
    relevant
        .iter()
        .flat_map(|earlier| check_against(level, new, earlier))
        .collect()
}

/// Checks `new` against one earlier version under `level`'s direction (backward, forward or
/// both), ignoring transitivity. Returns why it is incompatible; empty when it is compatible.
pub fn check_against(level: CompatibilityLevel, new: &Schema, earlier: &Earlier) -> Vec<String> {
    let mut problems = Vec::new();
    if level.backward() {
        if let Some(why) = unreadable(&earlier.schema, new) {
            problems.push(format!(
                "{level}: the new schema cannot read data written with version {}: {why}",
                earlier.version
            ));
        }
    }
    if level.forward() {
        if let Some(why) = unreadable(new, &earlier.schema) {
            problems.push(format!(
                "{level}: version {} cannot read data written with the new schema: {why}",
                earlier.version
            ));
        }
    }
    problems
}

/// Why `reader` cannot read everything written with `writer`, if it cannot.
fn unreadable(writer: &Schema, reader: &Schema) -> Option<String> {
    match SchemaCompatibility::can_read(writer, reader) {
        Ok(Compatibility::Full) => None,
        Ok(Compatibility::Partial) => Some(
            "only part of the data can be read (a union branch or enum symbol is missing)"
                .to_owned(),
        ),
        Err(e) => Some(error_chain(&e)),
    }
}

/// An error and its causes on one line: the field a mismatch is in, then what is wrong.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(fields: &str) -> Schema {
        Schema::parse_str(&format!(
            r#"{{"type":"record","name":"User","fields":[{fields}]}}"#
        ))
        .unwrap()
    }

    fn history(schemas: &[Schema]) -> Vec<Earlier> {
        schemas
            .iter()
            .enumerate()
            .map(|(i, s)| Earlier {
                version: i as i32 + 1,
                schema: s.clone(),
            })
            .collect()
    }

    const ID: &str = r#"{"name":"id","type":"long"}"#;

    #[test]
    fn levels_parse_in_any_case_and_print_in_upper_case() {
        assert_eq!(
            CompatibilityLevel::parse("backward_transitive").unwrap(),
            CompatibilityLevel::BackwardTransitive
        );
        for level in CompatibilityLevel::ALL {
            assert_eq!(CompatibilityLevel::parse(level.as_str()).unwrap(), level);
        }
        assert!(CompatibilityLevel::parse("SIDEWAYS").is_err());
        assert_eq!(CompatibilityLevel::default(), CompatibilityLevel::Backward);
    }

    #[test]
    fn adding_an_optional_field_with_a_default_is_fully_compatible() {
        let v1 = schema(ID);
        let v2 = schema(&format!(
            r#"{ID},{{"name":"email","type":["null","string"],"default":null}}"#
        ));
        let earlier = history(&[v1]);
        for level in CompatibilityLevel::ALL {
            assert!(
                check_against_history(level, &v2, &earlier).is_empty(),
                "{level}"
            );
        }
    }

    #[test]
    fn adding_a_field_without_default_breaks_backward_but_not_forward() {
        let v1 = schema(ID);
        let v2 = schema(&format!(r#"{ID},{{"name":"email","type":"string"}}"#));
        let h = history(&[v1]);
        let backward = check_against_history(CompatibilityLevel::Backward, &v2, &h);
        assert_eq!(backward.len(), 1, "{backward:?}");
        assert!(backward[0].contains("email"), "{backward:?}");
        assert!(check_against_history(CompatibilityLevel::Forward, &v2, &h).is_empty());
        assert_eq!(
            check_against_history(CompatibilityLevel::Full, &v2, &h).len(),
            1
        );
        assert!(check_against_history(CompatibilityLevel::None, &v2, &h).is_empty());
    }

    #[test]
    fn changing_a_type_incompatibly_is_caught_in_both_directions() {
        let v1 = schema(r#"{"name":"id","type":"long"}"#);
        let v2 = schema(r#"{"name":"id","type":"string"}"#);
        let problems = check_against_history(CompatibilityLevel::Full, &v2, &history(&[v1]));
        assert_eq!(problems.len(), 2, "{problems:?}");
    }

    #[test]
    fn only_transitive_levels_look_past_the_latest_version() {
        // v1 has no email; v2 adds it with a default; v3 drops the default. v3 can read v2's
        // data, but not v1's.
        let v1 = schema(ID);
        let v2 = schema(&format!(
            r#"{ID},{{"name":"email","type":"string","default":""}}"#
        ));
        let v3 = schema(&format!(r#"{ID},{{"name":"email","type":"string"}}"#));
        let h = history(&[v1, v2]);
        assert!(check_against_history(CompatibilityLevel::Backward, &v3, &h).is_empty());
        let problems = check_against_history(CompatibilityLevel::BackwardTransitive, &v3, &h);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("version 1"), "{problems:?}");
    }
}
