//! What `/api/v1/movies` has of its own: the listing's filters.

use crate::domain::{ExpiryWindow, Genre};
use crate::store::MovieFilter;
use chrono::NaiveDate;
use std::collections::HashMap;
use utoipa::IntoParams;
use web::FieldErrors;

pub const GENRE: &str = "genre";
pub const EXPIRING: &str = "expiring_within_days";

/// The movie listing's filters, as its document states them.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // read by the document only; `filter` parses the query itself
pub struct MovieListing {
    /// Only movies with this genre
    genre: Option<Genre>,
    // One line in the document: a doc comment's line breaks would show.
    #[doc = "Only movies whose `expiry_date` falls between today (UTC) and today \
            + N days, both days included; 0 means today only. Given without a value \
            (`?expiring_within_days` or `?expiring_within_days=`), N is 30. At most 36500."]
    #[param(schema_with = expiring_schema)]
    expiring_within_days: Option<u32>,
}

/// 0 to 36500, or empty (the default window): what `ExpiryWindow::parse` takes.
fn expiring_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0))
                .maximum(Some(36500)),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(0)),
        )
        .build()
        .into()
}

/// The filters of a movie listing; `today` anchors `expiring_within_days`. Adds a message per
/// bad parameter to `errors`.
pub fn filter(
    params: &HashMap<String, String>,
    today: NaiveDate,
    errors: &mut FieldErrors,
) -> MovieFilter {
    let mut filter = MovieFilter::default();
    if let Some(raw) = params.get(GENRE) {
        match Genre::parse(raw) {
            Ok(genre) => filter.genre = Some(genre),
            Err(e) => {
                errors.insert(GENRE.into(), e);
            }
        }
    }
    if let Some(raw) = params.get(EXPIRING) {
        match ExpiryWindow::parse(raw, today) {
            Ok(window) => filter.expiring = Some(window),
            Err(e) => {
                errors.insert(EXPIRING.into(), e);
            }
        }
    }
    filter
}

#[cfg(test)]
mod tests {
    use super::*;
    use web::paging;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
    }

    /// Paging and filters, as the listing handler reads them.
    fn parse_listing(
        query: &[(&str, &str)],
    ) -> Result<(paging::PageRequest, MovieFilter), Vec<String>> {
        let params = params(query);
        let mut errors = FieldErrors::new();
        let page = paging::parse(&params, &[GENRE, EXPIRING], &mut errors);
        let filter = filter(&params, today(), &mut errors);
        if errors.is_empty() {
            Ok((page, filter))
        } else {
            Err(errors.into_keys().collect())
        }
    }

    fn bad_keys(query: &[(&str, &str)]) -> Vec<String> {
        parse_listing(query).expect_err("an invalid query")
    }

    #[test]
    fn listing_without_filters_filters_nothing() {
        let (page, filter) = parse_listing(&[]).unwrap();
        assert_eq!(page.limit, paging::DEFAULT_LIMIT);
        assert_eq!(filter, MovieFilter::default());
    }

    #[test]
    fn listing_reads_genre_and_expiry_window() {
        let (_, filter) =
            parse_listing(&[("genre", "Drama"), ("expiring_within_days", "")]).unwrap();
        assert_eq!(filter.genre, Some(Genre::Drama));
        assert_eq!(
            filter.expiring,
            Some(ExpiryWindow {
                from: today(),
                to: NaiveDate::from_ymd_opt(2026, 12, 24).unwrap()
            })
        );
    }

    #[test]
    fn listing_rejects_unknown_and_invalid_parameters() {
        assert_eq!(bad_keys(&[("sort", "title")]), ["sort"]);
        assert_eq!(bad_keys(&[("genre", "noir")]), ["genre"]);
        assert_eq!(bad_keys(&[("expiring_within_days", "-3")]), [EXPIRING]);
        assert_eq!(
            bad_keys(&[("limit", "0"), ("genre", "x"), ("colour", "red")]),
            ["colour", "genre", "limit"]
        );
    }
}
