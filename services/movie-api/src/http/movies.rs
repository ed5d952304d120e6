//! `/api/v1/movies` handlers.

use super::{created, parse_id, with_etag};
use crate::domain::{ExpiryWindow, Genre, MovieInput, MoviePatch};
use crate::store::{Catalog, Movie, MovieFilter, PageRequest};
use axum::{
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::Response,
    routing::get,
    Json, Router,
};
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;
use web::{etag::IfMatch, paging, ApiError, FieldErrors, Problem, ValidJson};

pub fn router() -> Router<Catalog> {
    Router::new().route("/", get(list).post(create)).route(
        "/{id}",
        get(get_one).put(replace).patch(patch).delete(delete),
    )
}

/// One page of movies, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MoviePage {
    pub items: Vec<Movie>,
    /// Pass as `cursor` (with the same filters) to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

fn movie_id(raw: &str) -> Result<uuid::Uuid, ApiError> {
    parse_id("movie", raw)
}

#[utoipa::path(post, path = "/api/v1/movies", tag = "movies",
    request_body = MovieInput,
    responses(
        (status = 201, description = "Created", body = Movie, headers(("Location"), ("ETag"))),
        (status = 400, description = "Malformed JSON", body = Problem),
        (status = 413, description = "Body too large", body = Problem),
        (status = 415, description = "Not JSON", body = Problem),
        (status = 422, description = "Invalid field; an unknown genre names the valid ones, \
            unknown or deleted cast ids are named under `cast_ids`", body = Problem),
    ))]
pub async fn create(
    State(catalog): State<Catalog>,
    ValidJson(input): ValidJson<MovieInput>,
) -> Result<Response, ApiError> {
    let fields = input.parse().map_err(ApiError::Validation)?;
    let movie = catalog.create_movie(fields).await?;
    Ok(created("/api/v1/movies", movie.id, movie))
}

#[utoipa::path(get, path = "/api/v1/movies", tag = "movies",
    params(
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 100 (default 20)"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
        ("offset" = Option<i64>, Query, description = "Rows to skip (instead of a cursor)"),
        ("genre" = Option<Genre>, Query, description = "Only movies with this genre"),
        ("expiring_within_days" = Option<u32>, Query, minimum = 0, maximum = 36500,
            description = "Only movies whose `expiry_date` falls between today (UTC) and today \
                + N days, both days included; 0 means today only. Given without a value \
                (`?expiring_within_days` or `?expiring_within_days=`), N is 30. At most 36500."),
    ),
    responses(
        (status = 200, description = "A page of movies, newest first", body = MoviePage),
        (status = 400, description = "Invalid or unknown query parameter", body = Problem),
    ))]
pub async fn list(
    State(catalog): State<Catalog>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<MoviePage>, ApiError> {
    let (page, filter) = parse_listing(&params, Utc::now().date_naive())?;
    let page = catalog.list_movies(page, &filter).await?;
    let next_cursor = paging::next_cursor(&page.items, page.more, |m| (m.created_at, m.id));
    Ok(Json(MoviePage {
        items: page.items,
        next_cursor,
    }))
}

const GENRE: &str = "genre";
const EXPIRING: &str = "expiring_within_days";

/// The page and the filters of a movie listing; `today` anchors `expiring_within_days`.
fn parse_listing(
    params: &HashMap<String, String>,
    today: NaiveDate,
) -> Result<(PageRequest, MovieFilter), ApiError> {
    let mut errors = FieldErrors::new();
    let page = paging::parse(params, &[GENRE, EXPIRING], &mut errors);
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
    if errors.is_empty() {
        Ok((page, filter))
    } else {
        Err(ApiError::InvalidQuery(errors))
    }
}

#[utoipa::path(get, path = "/api/v1/movies/{id}", tag = "movies",
    params(("id" = Uuid, Path, description = "Movie id")),
    responses(
        (status = 200, description = "The movie", body = Movie, headers(("ETag"))),
        (status = 404, description = "Unknown or deleted", body = Problem),
    ))]
pub async fn get_one(
    State(catalog): State<Catalog>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let movie = catalog.get_movie(movie_id(&id)?).await?;
    Ok(with_etag(StatusCode::OK, movie.version, movie))
}

#[utoipa::path(put, path = "/api/v1/movies/{id}", tag = "movies",
    params(
        ("id" = Uuid, Path, description = "Movie id"),
        ("If-Match" = Option<String>, Header, description = "Expected version as ETag, e.g. \"3\""),
    ),
    request_body = MovieInput,
    responses(
        (status = 200, description = "Replaced", body = Movie, headers(("ETag"))),
        (status = 404, description = "Unknown or deleted", body = Problem),
        (status = 412, description = "If-Match does not match", body = Problem),
        (status = 422, description = "Invalid field, unknown genre or unknown cast id", body = Problem),
    ))]
pub async fn replace(
    State(catalog): State<Catalog>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ValidJson(input): ValidJson<MovieInput>,
) -> Result<Response, ApiError> {
    let id = movie_id(&id)?;
    let if_match = IfMatch::from_headers(&headers)?;
    let fields = input.parse().map_err(ApiError::Validation)?;
    let movie = catalog.update_movie(id, &if_match, |_| Ok(fields)).await?;
    Ok(with_etag(StatusCode::OK, movie.version, movie))
}

#[utoipa::path(patch, path = "/api/v1/movies/{id}", tag = "movies",
    params(
        ("id" = Uuid, Path, description = "Movie id"),
        ("If-Match" = Option<String>, Header, description = "Expected version as ETag, e.g. \"3\""),
    ),
    request_body(content = MoviePatch,
        description = "JSON merge patch: absent fields stay, null clears an optional field"),
    responses(
        (status = 200, description = "Updated", body = Movie, headers(("ETag"))),
        (status = 404, description = "Unknown or deleted", body = Problem),
        (status = 412, description = "If-Match does not match", body = Problem),
        (status = 422, description = "Invalid field, unknown genre or unknown cast id", body = Problem),
    ))]
pub async fn patch(
    State(catalog): State<Catalog>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ValidJson(patch): ValidJson<MoviePatch>,
) -> Result<Response, ApiError> {
    let id = movie_id(&id)?;
    let if_match = IfMatch::from_headers(&headers)?;
    let movie = catalog
        .update_movie(id, &if_match, |current| patch.apply(current))
        .await?;
    Ok(with_etag(StatusCode::OK, movie.version, movie))
}

#[utoipa::path(delete, path = "/api/v1/movies/{id}", tag = "movies",
    params(
        ("id" = Uuid, Path, description = "Movie id"),
        ("If-Match" = Option<String>, Header, description = "Expected version as ETag, e.g. \"3\""),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "Unknown or already deleted", body = Problem),
        (status = 412, description = "If-Match does not match", body = Problem),
    ))]
pub async fn delete(
    State(catalog): State<Catalog>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let id = movie_id(&id)?;
    catalog
        .delete_movie(id, &IfMatch::from_headers(&headers)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
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

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
    }

    fn bad_keys(query: &[(&str, &str)]) -> Vec<String> {
        match parse_listing(&params(query), today()) {
            Err(ApiError::InvalidQuery(d)) => d.into_keys().collect(),
            other => panic!("expected an invalid query, got {other:?}"),
        }
    }

    #[test]
    fn listing_without_filters_filters_nothing() {
        let (page, filter) = parse_listing(&params(&[]), today()).unwrap();
        assert_eq!(page.limit, paging::DEFAULT_LIMIT);
        assert_eq!(filter, MovieFilter::default());
    }

    #[test]
    fn listing_reads_genre_and_expiry_window() {
        let (_, filter) = parse_listing(
            &params(&[("genre", "Drama"), ("expiring_within_days", "")]),
            today(),
        )
        .unwrap();
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
