//! Movie and cast input, parsed at the edge: once a value has one of these types it is valid, so
//! no handler or query re-checks a field. Everything here is pure (no I/O); whether a cast id
//! names a live cast is the store's question, answered inside the write's transaction.

mod cast;
mod genre;
mod movie;

pub use cast::{CastFields, CastInput, CastName, CastPatch, Nationality};
pub use genre::{Genre, Genres};
pub use movie::{
    CastIds, ExpiryWindow, MovieFields, MovieInput, MoviePatch, Plot, ReleaseYear, Title,
};

/// An optional text field: absent, null and blank all mean "none".
fn optional<T>(
    raw: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<Option<T>, String> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => parse(text).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_optional_text_is_none() {
        let parse = |s: &str| Ok::<_, String>(s.to_owned());
        assert_eq!(optional(None, parse), Ok(None));
        assert_eq!(optional(Some("  "), parse), Ok(None));
        assert_eq!(optional(Some(" x "), parse), Ok(Some("x".to_owned())));
    }
}
