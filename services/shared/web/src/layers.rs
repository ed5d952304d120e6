//! Middleware every API wears: a request id on every request and response, a tracing span per
//! request carrying that id, a cap on body size, and handlers that run to their end.

use axum::{
    extract::{DefaultBodyLimit, Request},
    http::HeaderName,
    middleware::{self, Next},
    response::{IntoResponse, Response},
    Router,
};
use tower::ServiceBuilder;
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

/// Largest accepted request body. Aggregates are small; anything bigger is a mistake or abuse.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn apply(router: Router) -> Router {
    router
        .layer(middleware::from_fn(run_to_completion))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(
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

/// Runs the handler in its own task, so that a client hanging up does not cancel it halfway.
/// A handler dropped inside a database transaction would leave its connection idle in that
/// transaction, holding row locks (and unique index entries) until the pool next hands the
/// connection out; run to its end, the transaction commits or rolls back as it would have.
async fn run_to_completion(request: Request, next: Next) -> Response {
    match tokio::spawn(next.run(request)).await {
        Ok(response) => response,
        Err(e) => crate::ApiError::Internal(format!("request handler failed: {e}")).into_response(),
    }
}
