//! The processor's HTTP surface: `GET /metrics/orders` (totals from the executions table), next
//! to the shared health and Prometheus endpoints.

use crate::store::{ExecutionStore, Totals};
use axum::{extract::State, http::StatusCode, routing::get, Json, Router};
use serde_json::{json, Value};

pub fn router(store: ExecutionStore) -> Router {
    Router::new()
        .route("/metrics/orders", get(order_totals))
        .with_state(store)
}

/// `{"total_orders_processed": n, "average_execution_price": x}`; x is null before the first
/// order (there is no average of nothing) and otherwise rounded to the cent.
async fn order_totals(
    State(store): State<ExecutionStore>,
) -> Result<Json<Totals>, (StatusCode, Json<Value>)> {
    store.totals().await.map(Json).map_err(|e| {
        tracing::warn!(error = %e, "reading order totals failed");
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error": "unavailable", "message": "the executions database did not answer", "details": {}})),
        )
    })
}
