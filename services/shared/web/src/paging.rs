//! Listing pages, the same on every API: `limit` (1 to 100, default 20) and either a keyset
//! `cursor` (the `next_cursor` of the previous page) or an `offset`.
//!
//! Lists are newest first, ordered by `(created_at, id)` descending. The cursor encodes the last
//! row's key, so the next page is stable under concurrent inserts. Any query parameter the
//! endpoint does not know is rejected, so that a misspelt filter never silently lists everything.

use crate::FieldErrors;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use uuid::Uuid;

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;

/// Where a listing page starts.
#[derive(Debug, Clone, PartialEq)]
pub enum PageStart {
    First,
    Offset(i64),
    /// After this (created_at, id): keyset pagination, stable under concurrent inserts.
    After(DateTime<Utc>, Uuid),
}

/// A parsed page request.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRequest {
    pub start: PageStart,
    pub limit: i64,
}

/// Reads `limit`, `cursor` and `offset` from `params` and adds a message per bad parameter to
/// `errors`. Any other key must be one of `filters` (the endpoint's own parameters, which the
/// caller parses); the rest are reported as unknown. With errors, the returned request holds
/// defaults and must not be used.
pub fn parse(
    params: &HashMap<String, String>,
    filters: &[&str],
    errors: &mut FieldErrors,
) -> PageRequest {
    let known: Vec<&str> = ["limit", "cursor", "offset"]
        .into_iter()
        .chain(filters.iter().copied())
        .collect();
    for (key, value) in params {
        if !known.contains(&key.as_str()) {
            errors.insert(
                key.clone(),
                format!("unknown query parameter (expected {})", one_of(&known)),
            );
        } else if value.contains('\0') {
            // PostgreSQL cannot take a NUL in any text: refused here for every endpoint's filters.
            errors.insert(key.clone(), "must not contain the NUL character".into());
        }
    }
    let limit = match params.get("limit").map(|v| v.parse::<i64>()) {
        None => DEFAULT_LIMIT,
        Some(Ok(n)) if (1..=MAX_LIMIT).contains(&n) => n,
        Some(_) => {
            errors.insert(
                "limit".into(),
                format!("must be a whole number from 1 to {MAX_LIMIT}"),
            );
            DEFAULT_LIMIT
        }
    };
    let start = match (params.get("cursor"), params.get("offset")) {
        (Some(_), Some(_)) => {
            errors.insert(
                "cursor".into(),
                "give either cursor or offset, not both".into(),
            );
            PageStart::First
        }
        (Some(cursor), None) => decode_cursor(cursor).unwrap_or_else(|| {
            errors.insert("cursor".into(), "not a cursor returned by this API".into());
            PageStart::First
        }),
        (None, Some(offset)) => match offset.parse::<i64>() {
            Ok(n) if n >= 0 => PageStart::Offset(n),
            _ => {
                errors.insert(
                    "offset".into(),
                    "must be a whole number of at least 0".into(),
                );
                PageStart::First
            }
        },
        (None, None) => PageStart::First,
    };
    PageRequest { start, limit }
}

/// A page of a newest-first listing and whether more rows follow.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub more: bool,
}

impl<T> Page<T> {
    /// From `limit + 1` loaded rows: the extra row only says that another page exists.
    pub fn from_rows(mut rows: Vec<T>, limit: i64) -> Self {
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        Self { items: rows, more }
    }
}

/// Applies a page's start to a boxed diesel query of `$table` ordered newest first
/// (`created_at DESC, id DESC`): an offset, or the rows after a cursor's key. The caller has
/// `diesel::prelude::*` in scope and loads `limit + 1` rows for [`Page::from_rows`].
#[macro_export]
macro_rules! starting_at {
    ($query:expr, $table:ident, $start:expr) => {
        match $start {
            $crate::paging::PageStart::First => $query,
            $crate::paging::PageStart::Offset(n) => $query.offset(n),
            $crate::paging::PageStart::After(created_at, id) => $query.filter(
                $table::created_at
                    .lt(created_at)
                    .or($table::created_at.eq(created_at).and($table::id.lt(id))),
            ),
        }
    };
}

/// `a, b or c`.
fn one_of(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [only] => (*only).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

pub fn encode_cursor(created_at: DateTime<Utc>, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{id}", created_at.timestamp_micros()))
}

/// The page start a cursor encodes; `None` for anything this API did not hand out, including a
/// crafted timestamp outside years 1 to 9999 (PostgreSQL could not compare it: a 500, not a 400).
pub fn decode_cursor(cursor: &str) -> Option<PageStart> {
    use chrono::Datelike;
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let (micros, id) = text.split_once('|')?;
    let created_at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
    if !(1..=9999).contains(&created_at.year()) {
        return None;
    }
    Some(PageStart::After(created_at, Uuid::parse_str(id).ok()?))
}

/// The `next_cursor` of a page: the key of its last item when `more` rows follow, else `None`.
pub fn next_cursor<T>(
    items: &[T],
    more: bool,
    key: impl Fn(&T) -> (DateTime<Utc>, Uuid),
) -> Option<String> {
    if !more {
        return None;
    }
    items.last().map(|last| {
        let (created_at, id) = key(last);
        encode_cursor(created_at, id)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn cursor_round_trips() {
        let at = DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap();
        let id = Uuid::now_v7();
        assert_eq!(
            decode_cursor(&encode_cursor(at, id)),
            Some(PageStart::After(at, id))
        );
        assert_eq!(decode_cursor("garbage"), None);
        let crafted = |micros: i64| URL_SAFE_NO_PAD.encode(format!("{micros}|{id}"));
        assert_eq!(
            decode_cursor(&crafted(-8_210_298_412_800_000_000)),
            None,
            "year -258000"
        );
        assert_eq!(
            decode_cursor(&crafted(8_210_266_876_800_000_000)),
            None,
            "year 262143"
        );
        assert!(decode_cursor(&crafted(0)).is_some());
    }

    #[test]
    fn endpoint_filters_are_known_and_listed_in_the_unknown_message() {
        let mut errors = FieldErrors::new();
        parse(
            &params(&[("genre", "drama"), ("colour", "red")]),
            &["genre", "year"],
            &mut errors,
        );
        assert_eq!(errors.keys().collect::<Vec<_>>(), ["colour"]);
        assert_eq!(
            errors["colour"],
            "unknown query parameter (expected limit, cursor, offset, genre or year)"
        );
    }

    #[test]
    fn a_nul_in_a_filter_is_refused_by_name() {
        let mut errors = FieldErrors::new();
        parse(&params(&[("genre", "dra\0ma")]), &["genre"], &mut errors);
        assert_eq!(errors.keys().collect::<Vec<_>>(), ["genre"]);
    }

    #[test]
    fn next_cursor_is_the_last_key_only_when_more_follow() {
        let at = DateTime::from_timestamp_micros(1).unwrap();
        let id = Uuid::nil();
        let items = [(at, id)];
        assert_eq!(next_cursor(&items, false, |i| *i), None);
        assert_eq!(
            next_cursor(&items, true, |i| *i),
            Some(encode_cursor(at, id))
        );
    }
}
