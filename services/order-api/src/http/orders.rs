//! `/api/v1/orders` handlers.

use crate::domain::OrderInput;
use crate::store::{Order, OrderStore, Origin};
use axum::{
    extract::{Path, Query, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;
use uuid::Uuid;
use web::{paging, ApiError, FieldErrors, Problem, ValidJson};

pub fn router() -> Router<OrderStore> {
    Router::new()
        .route("/", get(list).post(create))
        .route("/{id}", get(get_one))
}

/// One page of orders, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderPage {
    pub items: Vec<Order>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/orders", tag = "orders",
    request_body = OrderInput,
    responses(
        (status = 201, description = "Placed", body = Order, headers(("Location"))),
        (status = 400, description = "Malformed JSON", body = Problem),
        (status = 413, description = "Body too large", body = Problem),
        (status = 415, description = "Not JSON", body = Problem),
        (status = 422, description = "Invalid field", body = Problem),
    ))]
pub async fn create(
    State(store): State<OrderStore>,
    ValidJson(input): ValidJson<OrderInput>,
) -> Result<Response, ApiError> {
    let order = store.place(&input, Origin::Api).await?;
    let location = format!("/api/v1/orders/{}", order.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(order),
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v1/orders", tag = "orders",
    params(
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 100 (default 20)"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
        ("offset" = Option<i64>, Query, description = "Rows to skip (instead of a cursor)"),
    ),
    responses(
        (status = 200, description = "A page of orders, newest first", body = OrderPage),
        (status = 400, description = "Invalid query parameter", body = Problem),
    ))]
pub async fn list(
    State(store): State<OrderStore>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<OrderPage>, ApiError> {
    let mut errors = FieldErrors::new();
    let page = paging::parse(&params, &[], &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::InvalidQuery(errors));
    }
    let page = store.list(&page).await?;
    let next_cursor = paging::next_cursor(&page.items, page.more, |o| (o.created_at, o.id));
    Ok(Json(OrderPage {
        items: page.items,
        next_cursor,
    }))
}

#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders",
    params(("id" = Uuid, Path, description = "Order id")),
    responses(
        (status = 200, description = "The order", body = Order),
        (status = 404, description = "Unknown order", body = Problem),
    ))]
pub async fn get_one(
    State(store): State<OrderStore>,
    Path(id): Path<String>,
) -> Result<Json<Order>, ApiError> {
    // A path id that is not a UUID cannot name an order: 404 like any unknown id.
    let id =
        Uuid::parse_str(&id).map_err(|_| ApiError::NotFound(format!("order {id} not found")))?;
    Ok(Json(store.get(id).await?))
}
