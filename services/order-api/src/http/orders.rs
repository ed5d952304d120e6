//! `/api/v1/orders` handlers.

use crate::domain::OrderInput;
use crate::store::{self, Order, OrderStore, Orders, Origin};
use axum::{extract::State, response::Response, routing::post, Router};
use resource::{http::Api, openapi, Docs, Endpoint};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use web::{ApiError, Problem, ValidJson};

impl Api for Orders {
    const DOCS: Docs = Docs {
        collection: "/api/v1/orders",
        tag: "orders",
        page: "OrderPage",
        filters: Docs::no_filters,
        patch: openapi::MERGE_PATCH,
        responses: &[(Endpoint::Get, "404", "Unknown order")],
    };
}

/// The reads are the shared layer's; placing an order is this API's own (it counts who
/// placed it).
pub fn router() -> Router<OrderStore> {
    resource::http::reads::<Orders>().route("/", post(create))
}

/// One page of orders, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderPage {
    pub items: Vec<Order>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/orders", tag = "orders", operation_id = "createOrder",
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
    let order = store::place(&store, &input, Origin::Api).await?;
    Ok(resource::http::created::<Orders>(&order))
}
