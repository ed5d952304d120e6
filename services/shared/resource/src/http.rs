//! The HTTP half: the six handlers every resource answers alike, and the one mapping from store
//! errors to problem responses.
//!
//! A path id that is not a UUID cannot name a row: 404 like any unknown id. Writes read
//! `If-Match` before the body, so a stale version is 412 whatever the body holds.

use crate::openapi::Docs;
use crate::store::{Collection, Creatable, Mutable, Store, StoreError};
use axum::{
    extract::{Path, Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;
use web::{etag, etag::IfMatch, paging, ApiError, FieldErrors, ValidJson};

/// How a collection shows over HTTP: where it lives and what its listing filters.
pub trait Api: Collection {
    const DOCS: Docs;
    /// The listing's own query parameters besides paging; [`Api::filter`] parses them.
    const FILTERS: &'static [&'static str] = &[];

    /// The listing filter from the query, adding a message per bad parameter to `errors`.
    fn filter(_params: &HashMap<String, String>, _errors: &mut FieldErrors) -> Self::Filter {
        Self::Filter::default()
    }
}

/// One page of a listing, newest first (documented per resource as `<Row>Page`).
#[derive(Debug, Serialize, Deserialize)]
pub struct Listing<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` (with the same filters) to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// `GET /` and `GET /{id}`.
pub fn reads<R: Api>() -> Router<Store<R>> {
    Router::new()
        .route("/", get(list::<R>))
        .route("/{id}", get(get_one::<R>))
}

/// The six: create, list, get, replace, patch, delete.
pub fn crud<R: Api + Mutable>() -> Router<Store<R>>
where
    R::Input: DeserializeOwned,
    R::Patch: DeserializeOwned,
{
    reads::<R>()
        .route("/", axum::routing::post(create::<R>))
        .route(
            "/{id}",
            axum::routing::put(replace::<R>)
                .patch(patch::<R>)
                .delete(delete::<R>),
        )
}

pub async fn list<R: Api>(
    State(store): State<Store<R>>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Listing<R::Row>>, ApiError> {
    let mut errors = FieldErrors::new();
    let page = paging::parse(&params, R::FILTERS, &mut errors);
    let filter = R::filter(&params, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::InvalidQuery(errors));
    }
    let page = store.list(page, &filter).await?;
    let next_cursor = paging::next_cursor(&page.items, page.more, R::key);
    Ok(Json(Listing {
        items: page.items,
        next_cursor,
    }))
}

pub async fn get_one<R: Api>(
    State(store): State<Store<R>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let row = store.get(parse_id::<R>(&id)?).await?;
    Ok(respond::<R>(StatusCode::OK, &row))
}

pub async fn create<R: Api + Creatable>(
    State(store): State<Store<R>>,
    ValidJson(input): ValidJson<R::Input>,
) -> Result<Response, ApiError>
where
    R::Input: DeserializeOwned,
{
    let fields = R::parse(input).map_err(ApiError::Validation)?;
    let row = store.create(fields).await?;
    Ok(created::<R>(&row))
}

pub async fn replace<R: Api + Mutable>(
    State(store): State<Store<R>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ValidJson(input): ValidJson<R::Input>,
) -> Result<Response, ApiError>
where
    R::Input: DeserializeOwned,
{
    let (id, if_match) = target::<R>(&id, &headers)?;
    let fields = R::parse(input).map_err(ApiError::Validation)?;
    update(&store, id, &if_match, |_| Ok(fields)).await
}

pub async fn patch<R: Api + Mutable>(
    State(store): State<Store<R>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ValidJson(patch): ValidJson<R::Patch>,
) -> Result<Response, ApiError>
where
    R::Patch: DeserializeOwned,
{
    let (id, if_match) = target::<R>(&id, &headers)?;
    update(&store, id, &if_match, |current| R::apply(&patch, current)).await
}

/// The row a write names and the version it expects: a malformed id is 404, a malformed
/// `If-Match` 400, both before the body is judged.
fn target<R: Collection>(id: &str, headers: &HeaderMap) -> Result<(Uuid, IfMatch), ApiError> {
    Ok((parse_id::<R>(id)?, IfMatch::from_headers(headers)?))
}

/// PUT and PATCH: the row's fields become `change(current)` if `if_match` allows.
async fn update<R: Api + Mutable>(
    store: &Store<R>,
    id: Uuid,
    if_match: &IfMatch,
    change: impl FnOnce(&R::Fields) -> Result<R::Fields, FieldErrors> + Send,
) -> Result<Response, ApiError> {
    let row = store.update(id, if_match, change).await?;
    Ok(respond::<R>(StatusCode::OK, &row))
}

pub async fn delete<R: Api + Mutable>(
    State(store): State<Store<R>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let (id, if_match) = target::<R>(&id, &headers)?;
    store.delete(id, &if_match).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// 201 with `Location: <collection>/<id>`, the ETag and the new row.
pub fn created<R: Api>(row: &R::Row) -> Response {
    let mut response = respond::<R>(StatusCode::CREATED, row);
    let (_, id) = R::key(row);
    let location = format!("{}/{id}", R::DOCS.collection);
    response.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(&location).expect("a path is a valid header"),
    );
    response
}

/// The row as JSON, with its version as the ETag when rows have one.
fn respond<R: Collection>(status: StatusCode, row: &R::Row) -> Response {
    let mut response = (status, Json(row)).into_response();
    if R::VERSIONED {
        response
            .headers_mut()
            .insert(header::ETAG, etag::etag(R::version(row)));
    }
    response
}

fn parse_id<R: Collection>(raw: &str) -> Result<Uuid, ApiError> {
    path_id(R::AGGREGATE.name, raw)
}

/// The id in a path: one that is not a UUID names nothing, so it is a 404 like an unknown one.
pub(crate) fn path_id(kind: &str, raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::NotFound(format!("{kind} {raw} not found")))
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { kind, id } => {
                ApiError::NotFound(format!("{kind} {id} not found"))
            }
            StoreError::VersionMismatch { current } => ApiError::PreconditionFailed(format!(
                "If-Match does not match the current version {current}; reload and retry"
            )),
            StoreError::Invalid(details) => ApiError::Validation(details),
            StoreError::Conflict { message, details } => ApiError::Conflict { message, details },
            StoreError::Unavailable(cause) => {
                ApiError::Unavailable(format!("database unavailable: {cause}"))
            }
            other => ApiError::internal(other),
        }
    }
}
