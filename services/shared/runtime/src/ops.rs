//! Operational endpoints, the same on every process: liveness, readiness, Prometheus metrics.
//!
//! Liveness says the process is up; readiness runs the process's own dependency check (its
//! database, its broker) so that a load balancer or `startup.sh` only routes to a ready one.

use axum::{extract::State, http::StatusCode, response::IntoResponse, routing::get, Json, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::json;
use std::{future::Future, pin::Pin, sync::Arc, sync::OnceLock};

/// A readiness probe: `Ok` when the dependencies answer, `Err(reason)` otherwise.
pub type ReadinessCheck =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

/// The process-wide Prometheus recorder; installed on first use so that several apps in one
/// test process share it.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets(&[
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ])
                .expect("static buckets are valid")
                .install_recorder()
                .expect("no other metrics recorder is installed")
        })
        .clone()
}

/// `/health/live`, `/health/ready` and `/metrics`.
pub fn router(service: &'static str, ready: ReadinessCheck) -> Router {
    let handle = metrics_handle();
    Router::new()
        .route(
            "/health/live",
            get(move || async move { Json(json!({"status": "UP", "service": service})) }),
        )
        .route("/health/ready", get(readiness).with_state((service, ready)))
        .route("/metrics", get(move || async move { handle.render() }))
}

async fn readiness(
    State((service, check)): State<(&'static str, ReadinessCheck)>,
) -> impl IntoResponse {
    match check().await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({"status": "UP", "service": service})),
        ),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "DOWN", "service": service, "reason": reason})),
        ),
    }
}
