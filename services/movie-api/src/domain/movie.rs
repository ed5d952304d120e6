//! A movie: title, plot, genres, cast, release year and the date its licence expires.

use super::{optional, Genre, Genres};
use chrono::{Days, NaiveDate};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;
use web::{FieldCheck, FieldErrors};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

impl Title {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(raw: &str) -> Result<Self, String> {
        web::text::one_line(raw, Self::MAX_CHARS).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plot(String);

impl Plot {
    pub const MAX_CHARS: usize = 2000;

    pub fn parse(raw: &str) -> Result<Self, String> {
        web::text::multi_line(raw, Self::MAX_CHARS).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReleaseYear(i32);

impl ReleaseYear {
    /// The first motion pictures date from 1888; 2100 leaves room for announced titles.
    pub const RANGE: std::ops::RangeInclusive<i32> = 1888..=2100;

    pub fn parse(year: i32) -> Result<Self, String> {
        if Self::RANGE.contains(&year) {
            Ok(Self(year))
        } else {
            Err(format!(
                "must be a year from {} to {} (got {year})",
                Self::RANGE.start(),
                Self::RANGE.end()
            ))
        }
    }

    pub fn get(self) -> i32 {
        self.0
    }
}

/// The ids of a movie's cast, each once, in the order first given. Whether they name live
/// casts is checked by the store, in the transaction that writes the movie.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CastIds(Vec<Uuid>);

impl CastIds {
    pub fn new(ids: &[Uuid]) -> Self {
        let mut unique = Vec::with_capacity(ids.len());
        for id in ids {
            if !unique.contains(id) {
                unique.push(*id);
            }
        }
        Self(unique)
    }

    pub fn as_slice(&self) -> &[Uuid] {
        &self.0
    }
}

/// A date in years 1 to 9999: chrono reads years PostgreSQL cannot store.
fn parse_expiry_date(raw: &str) -> Result<NaiveDate, String> {
    use chrono::Datelike;
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| (1..=9999).contains(&d.year()))
        .ok_or_else(|| format!("must be a date like 2027-06-30 (got '{}')", raw.trim()))
}

/// A date as `parse_expiry_date` reads it (four-digit year), blank or null.
fn expiry_date_schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
    web::text::blank_or(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
            .pattern(Some(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))
            .examples([serde_json::json!("2027-06-30")])
            .into(),
    )
}

/// The writable fields of a movie, all valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovieFields {
    pub title: Title,
    pub plot: Option<Plot>,
    pub genres: Genres,
    pub cast_ids: CastIds,
    pub release_year: Option<ReleaseYear>,
    pub expiry_date: Option<NaiveDate>,
}

/// Body of `POST` and `PUT`: every field; the optional ones are cleared when absent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MovieInput {
    /// 1 to 200 characters, trimmed; no control characters.
    #[schema(schema_with = web::text::one_line_schema::<{ Title::MAX_CHARS }>)]
    pub title: String,
    /// At most 2000 characters; line breaks and tabs allowed; absent, null or blank for none.
    #[schema(schema_with = web::text::optional_multi_line_schema::<{ Plot::MAX_CHARS }>)]
    #[serde(default)]
    pub plot: Option<String>,
    /// Names listed by `GET /api/v1/genres`; duplicates are dropped.
    #[schema(value_type = Vec<Genre>, example = json!(["action", "drama"]))]
    #[serde(default)]
    pub genres: Vec<String>,
    /// Ids of existing (not deleted) casts; duplicates are dropped, order is kept.
    #[serde(default)]
    pub cast_ids: Vec<Uuid>,
    /// From 1888 to 2100.
    #[schema(example = 1954, minimum = 1888, maximum = 2100)]
    #[serde(default)]
    pub release_year: Option<i32>,
    /// The day the movie leaves the catalogue, `YYYY-MM-DD` in years 1 to 9999; absent, null or
    /// blank for none.
    #[schema(schema_with = expiry_date_schema)]
    #[serde(default)]
    pub expiry_date: Option<String>,
}

/// Body of `PATCH` (JSON merge patch): absent fields stay; `null` clears an optional field
/// (`genres` and `cast_ids` become empty).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoviePatch {
    #[schema(schema_with = web::text::one_line_schema::<{ Title::MAX_CHARS }>)]
    #[serde(default, deserialize_with = "web::json::absent_or_value")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "web::json::present_or_null")]
    #[schema(schema_with = web::text::optional_multi_line_schema::<{ Plot::MAX_CHARS }>)]
    pub plot: Option<Option<String>>,
    #[serde(default, deserialize_with = "web::json::present_or_null")]
    #[schema(value_type = Option<Vec<Genre>>)]
    pub genres: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "web::json::present_or_null")]
    #[schema(value_type = Option<Vec<Uuid>>)]
    pub cast_ids: Option<Option<Vec<Uuid>>>,
    #[serde(default, deserialize_with = "web::json::present_or_null")]
    #[schema(value_type = Option<i32>, minimum = 1888, maximum = 2100)]
    pub release_year: Option<Option<i32>>,
    #[serde(default, deserialize_with = "web::json::present_or_null")]
    #[schema(schema_with = expiry_date_schema)]
    pub expiry_date: Option<Option<String>>,
}

fn parse_plot(raw: Option<&str>) -> Result<Option<Plot>, String> {
    optional(raw, Plot::parse)
}

fn parse_release_year(raw: Option<i32>) -> Result<Option<ReleaseYear>, String> {
    raw.map(ReleaseYear::parse).transpose()
}

fn parse_expiry(raw: Option<&str>) -> Result<Option<NaiveDate>, String> {
    optional(raw, parse_expiry_date)
}

impl MovieInput {
    pub fn parse(&self) -> Result<MovieFields, FieldErrors> {
        let mut check = FieldCheck::default();
        let title = check.take("title", Title::parse(&self.title));
        let plot = check.take("plot", parse_plot(self.plot.as_deref()));
        let genres = check.take("genres", Genres::parse(&self.genres));
        let release_year = check.take("release_year", parse_release_year(self.release_year));
        let expiry_date = check.take("expiry_date", parse_expiry(self.expiry_date.as_deref()));
        match (title, plot, genres, release_year, expiry_date) {
            (Some(title), Some(plot), Some(genres), Some(release_year), Some(expiry_date)) => {
                Ok(MovieFields {
                    title,
                    plot,
                    genres,
                    cast_ids: CastIds::new(&self.cast_ids),
                    release_year,
                    expiry_date,
                })
            }
            _ => Err(check.into_errors()),
        }
    }
}

impl MoviePatch {
    /// The fields after applying this patch to `current`.
    pub fn apply(&self, current: &MovieFields) -> Result<MovieFields, FieldErrors> {
        let mut check = FieldCheck::default();
        let title = match &self.title {
            Some(t) => check.take("title", Title::parse(t)),
            None => Some(current.title.clone()),
        };
        let plot = match &self.plot {
            Some(p) => check.take("plot", parse_plot(p.as_deref())),
            None => Some(current.plot.clone()),
        };
        let genres = match &self.genres {
            Some(g) => check.take("genres", Genres::parse(g.as_deref().unwrap_or_default())),
            None => Some(current.genres.clone()),
        };
        let cast_ids = match &self.cast_ids {
            Some(ids) => CastIds::new(ids.as_deref().unwrap_or_default()),
            None => current.cast_ids.clone(),
        };
        let release_year = match self.release_year {
            Some(y) => check.take("release_year", parse_release_year(y)),
            None => Some(current.release_year),
        };
        let expiry_date = match &self.expiry_date {
            Some(d) => check.take("expiry_date", parse_expiry(d.as_deref())),
            None => Some(current.expiry_date),
        };
        match (title, plot, genres, release_year, expiry_date) {
            (Some(title), Some(plot), Some(genres), Some(release_year), Some(expiry_date)) => {
                Ok(MovieFields {
                    title,
                    plot,
                    genres,
                    cast_ids,
                    release_year,
                    expiry_date,
                })
            }
            _ => Err(check.into_errors()),
        }
    }
}

/// Movies whose expiry date falls between `from` and `to`, both days included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiryWindow {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl ExpiryWindow {
    /// What `?expiring_within_days` means when given without a value.
    pub const DEFAULT_DAYS: u64 = 30;
    pub const MAX_DAYS: u64 = 36_500;

    /// The window of `?expiring_within_days=<raw>`: from `today` to `today + N`, inclusive.
    /// An empty value means [`Self::DEFAULT_DAYS`].
    pub fn parse(raw: &str, today: NaiveDate) -> Result<Self, String> {
        let days = match raw.trim() {
            "" => Self::DEFAULT_DAYS,
            text => text
                .parse::<u64>()
                .ok()
                .filter(|n| *n <= Self::MAX_DAYS)
                .ok_or_else(|| {
                    format!(
                        "must be a whole number of days from 0 to {} (empty means {})",
                        Self::MAX_DAYS,
                        Self::DEFAULT_DAYS
                    )
                })?,
        };
        let to = today
            .checked_add_days(Days::new(days))
            .ok_or_else(|| "reaches beyond the last representable date".to_owned())?;
        Ok(Self { from: today, to })
    }

    pub fn contains(&self, date: NaiveDate) -> bool {
        (self.from..=self.to).contains(&date)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn input(body: serde_json::Value) -> MovieInput {
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn titles_are_1_to_200_and_plots_at_most_2000_characters() {
        assert!(Title::parse("").is_err());
        assert!(Title::parse(&"t".repeat(200)).is_ok());
        assert!(Title::parse(&"t".repeat(201)).is_err());
        assert_eq!(parse_plot(Some("  ")), Ok(None));
        assert!(parse_plot(Some(&"p".repeat(2000))).unwrap().is_some());
        assert!(parse_plot(Some(&"p".repeat(2001))).is_err());
    }

    #[test]
    fn release_years_run_from_1888_to_2100() {
        assert!(ReleaseYear::parse(1887).is_err());
        assert_eq!(ReleaseYear::parse(1888).unwrap().get(), 1888);
        assert!(ReleaseYear::parse(2100).is_ok());
        assert!(ReleaseYear::parse(2101).is_err());
    }

    #[test]
    fn expiry_dates_are_iso_calendar_dates() {
        assert_eq!(
            parse_expiry(Some("2027-02-28")),
            Ok(Some(date("2027-02-28")))
        );
        assert_eq!(parse_expiry(None), Ok(None));
        for bad in ["2027-02-30", "28/02/2027", "2027-2-28T00:00:00", "tomorrow"] {
            assert!(parse_expiry(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn expiry_dates_postgresql_cannot_store_are_refused_not_a_500() {
        for bad in [
            "-200000-01-01",
            "0000-12-31",
            "+200000-01-01",
            "10000-01-01",
        ] {
            assert!(parse_expiry(Some(bad)).is_err(), "{bad}");
        }
        assert!(parse_expiry(Some("9999-12-31")).is_ok());
    }

    #[test]
    fn cast_ids_drop_duplicates_and_keep_order() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(CastIds::new(&[b, a, b]).as_slice(), [b, a]);
    }

    #[test]
    fn input_with_only_a_title_has_empty_optional_fields() {
        let fields = input(json!({"title": "Ran"})).parse().unwrap();
        assert_eq!(fields.title.as_str(), "Ran");
        assert_eq!(fields.plot, None);
        assert_eq!(fields.genres, Genres::default());
        assert_eq!(fields.cast_ids, CastIds::default());
        assert_eq!((fields.release_year, fields.expiry_date), (None, None));
    }

    #[test]
    fn input_reports_every_bad_field() {
        let errors = input(json!({
            "title": "",
            "plot": "p".repeat(2001),
            "genres": ["drama", "romcom"],
            "release_year": 1700,
            "expiry_date": "soon",
        }))
        .parse()
        .unwrap_err();
        assert_eq!(
            errors.keys().collect::<Vec<_>>(),
            ["expiry_date", "genres", "plot", "release_year", "title"]
        );
        assert!(errors["genres"].contains("'romcom'"));
    }

    #[test]
    fn patch_keeps_absent_fields_and_null_clears_optional_ones() {
        let cast = Uuid::now_v7();
        let current = input(json!({
            "title": "Yojimbo",
            "plot": "A ronin plays two gangs against each other.",
            "genres": ["action"],
            "cast_ids": [cast],
            "release_year": 1961,
            "expiry_date": "2030-01-01",
        }))
        .parse()
        .unwrap();
        let untouched: MoviePatch = serde_json::from_str("{}").unwrap();
        assert_eq!(untouched.apply(&current).unwrap(), current);

        let cleared: MoviePatch = serde_json::from_value(json!({
            "plot": null, "genres": null, "cast_ids": null, "release_year": null, "expiry_date": null
        }))
        .unwrap();
        let next = cleared.apply(&current).unwrap();
        assert_eq!(next.title, current.title);
        assert_eq!(next.plot, None);
        assert_eq!(next.genres, Genres::default());
        assert_eq!(next.cast_ids, CastIds::default());
        assert_eq!((next.release_year, next.expiry_date), (None, None));

        let bad: MoviePatch = serde_json::from_value(json!({"genres": ["noir"]})).unwrap();
        assert!(bad.apply(&current).unwrap_err().contains_key("genres"));
    }

    #[test]
    fn expiring_window_runs_from_today_to_today_plus_n_inclusive() {
        let today = date("2026-11-24");
        let window = ExpiryWindow::parse("7", today).unwrap();
        assert_eq!(
            window,
            ExpiryWindow {
                from: today,
                to: date("2026-12-01")
            }
        );
        assert!(window.contains(today));
        assert!(window.contains(date("2026-12-01")));
        assert!(!window.contains(date("2026-12-02")));
        assert!(!window.contains(date("2026-11-23")));
        assert_eq!(ExpiryWindow::parse("0", today).unwrap().to, today);
    }

    #[test]
    fn expiring_window_without_a_value_is_30_days() {
        let today = date("2026-11-24");
        assert_eq!(
            ExpiryWindow::parse("", today).unwrap().to,
            date("2026-12-24")
        );
    }

    #[test]
    fn expiring_window_rejects_negative_fractional_and_huge_values() {
        let today = date("2026-11-24");
        for bad in ["-1", "1.5", "x", "36501"] {
            assert!(ExpiryWindow::parse(bad, today).is_err(), "{bad}");
        }
        assert!(ExpiryWindow::parse("36500", today).is_ok());
    }
}
