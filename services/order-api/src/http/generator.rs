//! `/api/v1/orders/generator` handlers: read, start and stop the order generator.
//!
//! `start` on a running generator retunes its interval (200, not 409): a client can always
//! say "run at this rate" without first asking whether it runs. `stop` on a stopped generator
//! is a no-op. Both answer the resulting status.

use crate::domain::GeneratorStart;
use crate::generator::{GeneratorStatus, OrderGenerator};
use axum::{
    extract::State,
    routing::{get, post},
    Json, Router,
};
use web::{json::OptionalJson, ApiError, Problem};

pub fn router() -> Router<OrderGenerator> {
    Router::new()
        .route("/", get(status))
        .route("/start", post(start))
        .route("/stop", post(stop))
}

#[utoipa::path(get, path = "/api/v1/orders/generator", tag = "generator",
    responses((status = 200, description = "The generator's state", body = GeneratorStatus)))]
pub async fn status(State(generator): State<OrderGenerator>) -> Json<GeneratorStatus> {
    Json(generator.status().await)
}

#[utoipa::path(post, path = "/api/v1/orders/generator/start", tag = "generator",
    request_body(content = Option<GeneratorStart>,
        description = "Optional; without a body the interval is 2000 ms"),
    responses(
        (status = 200, description = "Running (started, or retuned if it already ran)", body = GeneratorStatus),
        (status = 400, description = "Malformed JSON", body = Problem),
        (status = 415, description = "A body that is not JSON", body = Problem),
        (status = 422, description = "interval_ms out of range", body = Problem),
    ))]
pub async fn start(
    State(generator): State<OrderGenerator>,
    OptionalJson(body): OptionalJson<GeneratorStart>,
) -> Result<Json<GeneratorStatus>, ApiError> {
    let interval = body.parse().map_err(ApiError::Validation)?;
    Ok(Json(generator.start(interval).await))
}

#[utoipa::path(post, path = "/api/v1/orders/generator/stop", tag = "generator",
    responses((status = 200, description = "Stopped (a no-op if it was not running)", body = GeneratorStatus)))]
pub async fn stop(State(generator): State<OrderGenerator>) -> Json<GeneratorStatus> {
    Json(generator.stop().await)
}
