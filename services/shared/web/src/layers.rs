//! Middleware every API wears: a request id on every request and response, a tracing span per
//! request carrying that id, and a cap on body size.

use axum::{extract::DefaultBodyLimit, http::HeaderName, Router};
use tower::ServiceBuilder;
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

/// Largest accepted request body. Aggregates are small; anything bigger is a mistake or abuse.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn apply(router: Router) -> Router {
    router.layer(DefaultBodyLimit::max(MAX_BODY_BYTES)).layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
            .layer(
                TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                    let id = req
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!("request", method = %req.method(), uri = %req.uri(), request_id = %id)
                }),
            )
            .layer(PropagateRequestIdLayer::new(REQUEST_ID)),
    )
}
