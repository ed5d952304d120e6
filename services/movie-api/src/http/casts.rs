//! `/api/v1/casts` handlers.

use super::{created, parse_id, with_etag};
use crate::domain::{CastInput, CastPatch};
use crate::store::{Cast, Catalog};
use axum::{
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::Response,
    routing::get,
    Json, Router,
};
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

/// One page of casts, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CastPage {
    pub items: Vec<Cast>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

fn cast_id(raw: &str) -> Result<uuid::Uuid, ApiError> {
    parse_id("cast", raw)
}

#[utoipa::path(post, path = "/api/v1/casts", tag = "casts",
    request_body = CastInput,
    responses(
        (status = 201, description = "Created", body = Cast, headers(("Location"), ("ETag"))),
        (status = 400, description = "Malformed JSON", body = Problem),
        (status = 413, description = "Body too large", body = Problem),
        (status = 415, description = "Not JSON", body = Problem),
        (status = 422, description = "Invalid field", body = Problem),
    ))]
pub async fn create(
    State(catalog): State<Catalog>,
    ValidJson(input): ValidJson<CastInput>,
) -> Result<Response, ApiError> {
    let fields = input.parse().map_err(ApiError::Validation)?;
    let cast = catalog.create_cast(fields).await?;
    Ok(created("/api/v1/casts", cast.id, cast))
}

#[utoipa::path(get, path = "/api/v1/casts", tag = "casts",
    params(
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 100 (default 20)"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
        ("offset" = Option<i64>, Query, description = "Rows to skip (instead of a cursor)"),
    ),
    responses(
        (status = 200, description = "A page of casts, newest first", body = CastPage),
        (status = 400, description = "Invalid or unknown query parameter", body = Problem),
    ))]
pub async fn list(
    State(catalog): State<Catalog>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<CastPage>, ApiError> {
    let mut errors = FieldErrors::new();
    let page = paging::parse(&params, &[], &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::InvalidQuery(errors));
    }
    let page = catalog.list_casts(page).await?;
    let next_cursor = paging::next_cursor(&page.items, page.more, |c| (c.created_at, c.id));
    Ok(Json(CastPage {
        items: page.items,
        next_cursor,
    }))
}

#[utoipa::path(get, path = "/api/v1/casts/{id}", tag = "casts",
    params(("id" = Uuid, Path, description = "Cast id")),
    responses(
        (status = 200, description = "The cast", body = Cast, headers(("ETag"))),
        (status = 404, description = "Unknown or deleted", body = Problem),
    ))]
pub async fn get_one(
    State(catalog): State<Catalog>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let cast = catalog.get_cast(cast_id(&id)?).await?;
    Ok(with_etag(StatusCode::OK, cast.version, cast))
}

#[utoipa::path(put, path = "/api/v1/casts/{id}", tag = "casts",
    params(
        ("id" = Uuid, Path, description = "Cast id"),
        ("If-Match" = Option<String>, Header, description = "Expected version as ETag, e.g. \"3\""),
    ),
    request_body = CastInput,
    responses(
        (status = 200, description = "Replaced", body = Cast, headers(("ETag"))),
        (status = 404, description = "Unknown or deleted", body = Problem),
        (status = 412, description = "If-Match does not match", body = Problem),
        (status = 422, description = "Invalid field", body = Problem),
    ))]
pub async fn replace(
    State(catalog): State<Catalog>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ValidJson(input): ValidJson<CastInput>,
) -> Result<Response, ApiError> {
    let id = cast_id(&id)?;
    let if_match = IfMatch::from_headers(&headers)?;
    let fields = input.parse().map_err(ApiError::Validation)?;
    let cast = catalog.update_cast(id, &if_match, |_| Ok(fields)).await?;
    Ok(with_etag(StatusCode::OK, cast.version, cast))
}

#[utoipa::path(patch, path = "/api/v1/casts/{id}", tag = "casts",
    params(
        ("id" = Uuid, Path, description = "Cast id"),
        ("If-Match" = Option<String>, Header, description = "Expected version as ETag, e.g. \"3\""),
    ),
    request_body(content = CastPatch, description = "JSON merge patch: absent fields stay"),
    responses(
        (status = 200, description = "Updated", body = Cast, headers(("ETag"))),
        (status = 404, description = "Unknown or deleted", body = Problem),
        (status = 412, description = "If-Match does not match", body = Problem),
        (status = 422, description = "Invalid field", body = Problem),
    ))]
pub async fn patch(
    State(catalog): State<Catalog>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ValidJson(patch): ValidJson<CastPatch>,
) -> Result<Response, ApiError> {
    let id = cast_id(&id)?;
    let if_match = IfMatch::from_headers(&headers)?;
    let cast = catalog
        .update_cast(id, &if_match, |current| patch.apply(current))
        .await?;
    Ok(with_etag(StatusCode::OK, cast.version, cast))
}

#[utoipa::path(delete, path = "/api/v1/casts/{id}", tag = "casts",
    params(
        ("id" = Uuid, Path, description = "Cast id"),
        ("If-Match" = Option<String>, Header, description = "Expected version as ETag, e.g. \"3\""),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "Unknown or already deleted", body = Problem),
        (status = 409, description = "A live movie still names this cast; `details.movies` lists them", body = Problem),
        (status = 412, description = "If-Match does not match", body = Problem),
    ))]
pub async fn delete(
    State(catalog): State<Catalog>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let id = cast_id(&id)?;
    catalog
        .delete_cast(id, &IfMatch::from_headers(&headers)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
