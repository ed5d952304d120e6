//! Middleware every API wears: a request id on every request and response, a tracing span per
//! request carrying that id, a cap on body size, handlers that run to their end, and errors the
//! framework answers by itself (no route, wrong method) in the platform's error format.

use axum::{
    extract::{DefaultBodyLimit, Request},
    http::{header::CONTENT_TYPE, HeaderName, StatusCode},
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
        .layer(middleware::map_response(bare_errors_as_problems))
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
    // A read opens no transaction, so it may stop wherever the client leaves it; sparing it the
    // task of its own (and the hand-over between worker threads) is a measurable part of a
    // read's cost.
    if request.method().is_safe() {
        return next.run(request).await;
    }
    match tokio::spawn(next.run(request)).await {
        Ok(response) => response,
        Err(e) => crate::ApiError::Internal(format!("request handler failed: {e}")).into_response(),
    }
}

/// axum answers an unknown route (404) or method (405, with `Allow`) with an empty body. Every
/// error a client sees is the platform's JSON, so such answers get one, keeping their headers.
async fn bare_errors_as_problems(response: Response) -> Response {
    let status = response.status();
    if status.as_u16() < 400 || response.headers().contains_key(CONTENT_TYPE) {
        return response;
    }
    let error = match status {
        StatusCode::NOT_FOUND => crate::ApiError::NotFound("no such resource".into()),
        StatusCode::METHOD_NOT_ALLOWED => crate::ApiError::MethodNotAllowed,
        other => crate::ApiError::Status(other),
    };
    let (mut parts, _) = response.into_parts();
    let problem = error.into_response();
    parts.headers.extend(problem.headers().clone());
    Response::from_parts(parts, problem.into_body())
}
