//! `/api/v1/customers` handlers.

use crate::domain::{CustomerInput, CustomerPatch};
use crate::store::{Customer, CustomerStore, PageStart};
use axum::{
    extract::{Path, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;
use uuid::Uuid;
use web::paging;
use web::{etag, etag::IfMatch, ApiError, FieldErrors, Problem, ValidJson};

pub fn router() -> Router<CustomerStore> {
    Router::new().route("/", get(list).post(create)).route(
        "/{id}",
        get(get_one).put(replace).patch(patch).delete(delete),
    )
}

/// One page of customers, newest first.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct CustomerPage {
    pub items: Vec<Customer>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

fn with_etag(status: StatusCode, customer: Customer) -> Response {
    (
        status,
        [(header::ETAG, etag::etag(customer.version))],
        Json(customer),
    )
        .into_response()
}

/// A path id that is not a UUID cannot name a customer: 404 like any unknown id.
fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::NotFound(format!("customer {raw} not found")))
}

#[utoipa::path(post, path = "/api/v1/customers", tag = "customers",
    request_body = CustomerInput,
    responses(
        (status = 201, description = "Created", body = Customer, headers(("Location"), ("ETag"))),
        (status = 400, description = "Malformed JSON", body = Problem),
        (status = 409, description = "Email already in use", body = Problem),
        (status = 413, description = "Body too large", body = Problem),
        (status = 422, description = "Invalid field", body = Problem),
    ))]
pub async fn create(
    State(store): State<CustomerStore>,
    ValidJson(input): ValidJson<CustomerInput>,
) -> Result<Response, ApiError> {
    let fields = input.parse().map_err(ApiError::Validation)?;
    let customer = store.create(fields).await?;
    let location = format!("/api/v1/customers/{}", customer.id);
    let mut response = with_etag(StatusCode::CREATED, customer);
    response.headers_mut().insert(
        header::LOCATION,
        location.parse().expect("a path is a valid header"),
    );
    Ok(response)
}

#[utoipa::path(get, path = "/api/v1/customers", tag = "customers",
    params(
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 100 (default 20)"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
        ("offset" = Option<i64>, Query, description = "Rows to skip (instead of a cursor)"),
    ),
    responses(
        (status = 200, description = "A page of customers, newest first", body = CustomerPage),
        (status = 400, description = "Invalid query parameter", body = Problem),
    ))]
pub async fn list(
    State(store): State<CustomerStore>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<CustomerPage>, ApiError> {
    let (start, limit) = parse_listing(&params)?;
    let page = store.list(start, limit).await?;
    let next_cursor = paging::next_cursor(&page.items, page.more, |c| (c.created_at, c.id));
    Ok(Json(CustomerPage {
        items: page.items,
        next_cursor,
    }))
}

fn parse_listing(params: &HashMap<String, String>) -> Result<(PageStart, i64), ApiError> {
    let mut errors = FieldErrors::new();
    let page = paging::parse(params, &[], &mut errors);
    if errors.is_empty() {
        Ok((page.start, page.limit))
    } else {
        Err(ApiError::InvalidQuery(errors))
    }
}

#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers",
    params(("id" = Uuid, Path, description = "Customer id")),
    responses(
        (status = 200, description = "The customer", body = Customer, headers(("ETag"))),
        (status = 404, description = "Unknown or deleted", body = Problem),
    ))]
pub async fn get_one(
    State(store): State<CustomerStore>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let customer = store.get(parse_id(&id)?).await?;
    Ok(with_etag(StatusCode::OK, customer))
}

#[utoipa::path(put, path = "/api/v1/customers/{id}", tag = "customers",
    params(
        ("id" = Uuid, Path, description = "Customer id"),
        ("If-Match" = Option<String>, Header, description = "Expected version as ETag, e.g. \"3\""),
    ),
    request_body = CustomerInput,
    responses(
        (status = 200, description = "Replaced", body = Customer, headers(("ETag"))),
        (status = 404, description = "Unknown or deleted", body = Problem),
        (status = 409, description = "Email already in use", body = Problem),
        (status = 412, description = "If-Match does not match", body = Problem),
        (status = 422, description = "Invalid field", body = Problem),
    ))]
pub async fn replace(
    State(store): State<CustomerStore>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ValidJson(input): ValidJson<CustomerInput>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let if_match = IfMatch::from_headers(&headers)?;
    let fields = input.parse().map_err(ApiError::Validation)?;
    let customer = store.update(id, &if_match, |_| Ok(fields)).await?;
    Ok(with_etag(StatusCode::OK, customer))
}

#[utoipa::path(patch, path = "/api/v1/customers/{id}", tag = "customers",
    params(
        ("id" = Uuid, Path, description = "Customer id"),
        ("If-Match" = Option<String>, Header, description = "Expected version as ETag, e.g. \"3\""),
    ),
    request_body(content = CustomerPatch, description = "JSON merge patch: absent fields stay"),
    responses(
        (status = 200, description = "Updated", body = Customer, headers(("ETag"))),
        (status = 404, description = "Unknown or deleted", body = Problem),
        (status = 409, description = "Email already in use", body = Problem),
        (status = 412, description = "If-Match does not match", body = Problem),
        (status = 422, description = "Invalid field", body = Problem),
    ))]
pub async fn patch(
    State(store): State<CustomerStore>,
    Path(id): Path<String>,
    headers: HeaderMap,
    ValidJson(patch): ValidJson<CustomerPatch>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let if_match = IfMatch::from_headers(&headers)?;
    let customer = store
        .update(id, &if_match, |current| patch.apply(current))
        .await?;
    Ok(with_etag(StatusCode::OK, customer))
}

#[utoipa::path(delete, path = "/api/v1/customers/{id}", tag = "customers",
    params(
        ("id" = Uuid, Path, description = "Customer id"),
        ("If-Match" = Option<String>, Header, description = "Expected version as ETag, e.g. \"3\""),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "Unknown or already deleted", body = Problem),
        (status = 412, description = "If-Match does not match", body = Problem),
    ))]
pub async fn delete(
    State(store): State<CustomerStore>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    store.delete(id, &IfMatch::from_headers(&headers)?).await?;
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

    fn bad_keys(result: Result<(PageStart, i64), ApiError>) -> Vec<String> {
        match result {
            Err(ApiError::InvalidQuery(d)) => d.into_keys().collect(),
            other => panic!("expected invalid query, got {other:?}"),
        }
    }

    #[test]
    fn listing_defaults_and_bounds() {
        assert_eq!(parse_listing(&params(&[])).unwrap(), (PageStart::First, 20));
        assert_eq!(
            parse_listing(&params(&[("limit", "100"), ("offset", "5")])).unwrap(),
            (PageStart::Offset(5), 100)
        );
        assert_eq!(
            bad_keys(parse_listing(&params(&[("limit", "101")]))),
            ["limit"]
        );
        assert_eq!(
            bad_keys(parse_listing(&params(&[("limit", "0")]))),
            ["limit"]
        );
        assert_eq!(
            bad_keys(parse_listing(&params(&[("offset", "-1")]))),
            ["offset"]
        );
        assert_eq!(bad_keys(parse_listing(&params(&[("sort", "x")]))), ["sort"]);
        assert_eq!(
            bad_keys(parse_listing(&params(&[("cursor", "x"), ("offset", "1")]))),
            ["cursor"]
        );
    }
}
