//! Free-text fields, the same rules on every API and in every OpenAPI document: trimmed, 1 to
//! N characters (characters, not bytes), no control characters (a name or title holds no tab or
//! escape; a plot may hold line breaks and tabs).
//!
//! The `*_schema` functions state the same rules for `#[schema(schema_with = ...)]`, so that a
//! client generated from the document sends what the API accepts.

use utoipa::openapi::{
    schema::{ObjectBuilder, OneOfBuilder, Type},
    RefOr, Schema,
};

/// One line: at least one character that is not white space, and no control character.
const ONE_LINE: &str =
    r"[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*";

/// Several lines: as one line, but line feeds, carriage returns and tabs are text.
const MULTI_LINE: &str = r"[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*";

/// `raw` trimmed, if it is 1 to `max` characters on one line.
pub fn one_line(raw: &str, max: usize) -> Result<String, String> {
    checked(raw, max, |c| c.is_control())
}

/// `raw` trimmed, if it is 1 to `max` characters; line breaks and tabs are allowed.
pub fn multi_line(raw: &str, max: usize) -> Result<String, String> {
    checked(raw, max, |c| {
        c.is_control() && !matches!(c, '\n' | '\r' | '\t')
    })
}

fn checked(raw: &str, max: usize, refused: impl Fn(char) -> bool) -> Result<String, String> {
    if let Some(c) = raw.chars().find(|&c| refused(c)) {
        return Err(format!(
            "must not contain control characters (found U+{:04X})",
            c as u32
        ));
    }
    let trimmed = raw.trim();
    let chars = trimmed.chars().count();
    if chars == 0 {
        Err("must not be empty".into())
    } else if chars > max {
        Err(format!("must be at most {max} characters (got {chars})"))
    } else {
        Ok(trimmed.to_owned())
    }
}

/// The schema of a required [`one_line`] field of at most `MAX` characters.
pub fn one_line_schema<const MAX: usize>() -> RefOr<Schema> {
    schema(&format!("^{ONE_LINE}$"), Some(MAX), false)
}

/// [`one_line_schema`] of an optional field: absent, null and blank all mean "none".
pub fn optional_one_line_schema<const MAX: usize>() -> RefOr<Schema> {
    blank_or(schema(&format!("^{ONE_LINE}$"), Some(MAX), false))
}

/// The schema of an optional [`multi_line`] field of at most `MAX` characters.
pub fn optional_multi_line_schema<const MAX: usize>() -> RefOr<Schema> {
    blank_or(schema(&format!("^{MULTI_LINE}$"), Some(MAX), false))
}

/// `text`, or white space of any length, or null: what an optional field reads as "none".
pub fn blank_or(text: RefOr<Schema>) -> RefOr<Schema> {
    OneOfBuilder::new()
        .item(text)
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(r"^\s*$")),
        )
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .into()
}

/// `pattern` (unanchored) or only white space, which an optional field reads as "none".
pub fn optional(pattern: &str) -> String {
    format!(r"^(\s*|{pattern})$")
}

/// A string schema: `pattern`, at most `max` characters (white space around the value
/// included, so a little stricter than the parsers, which trim first), null when `nullable`.
pub fn schema(pattern: &str, max: Option<usize>, nullable: bool) -> RefOr<Schema> {
    let schema_type = if nullable {
        utoipa::openapi::schema::SchemaType::from_iter([Type::String, Type::Null])
    } else {
        Type::String.into()
    };
    ObjectBuilder::new()
        .schema_type(schema_type)
        .max_length(max)
        .pattern(Some(pattern))
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_bounded_in_characters_and_free_of_control_characters() {
        assert_eq!(one_line("  Ada ", 3).unwrap(), "Ada");
        assert!(one_line("   ", 3).is_err());
        assert!(one_line("éééé", 4).is_ok());
        assert!(one_line("ééééé", 4).is_err());
        for bad in ["A\tB", "A\u{1b}B", "A\u{85}B", "A\nB"] {
            assert!(one_line(bad, 10).is_err(), "{bad:?}");
        }
        assert_eq!(
            multi_line("line\nnext\ttab", 20).unwrap(),
            "line\nnext\ttab"
        );
        assert!(multi_line("bell\u{7}", 20).is_err());
    }

    #[test]
    fn the_patterns_agree_with_the_parsers() {
        // regex-lite's `\s` is ASCII only (the fuzzer's and browsers' are Unicode), so the
        // cases stay clear of the other Unicode spaces.
        let one = regex_lite::Regex::new(&format!("^{ONE_LINE}$")).unwrap();
        let multi = regex_lite::Regex::new(&format!("^{MULTI_LINE}$")).unwrap();
        for text in [
            "Ada", " Ada ", "A\tB", "A\nB", "\u{1b}", "  ", "", "é", "a\u{85}", "\u{a0}x",
        ] {
            assert_eq!(one.is_match(text), one_line(text, 100).is_ok(), "{text:?}");
            assert_eq!(
                multi.is_match(text),
                multi_line(text, 100).is_ok(),
                "{text:?}"
            );
        }
    }
}
