//! The web console at `/`: one HTML page, its stylesheet and script, compiled into the binary.
//! It signs in at `/api/v1/auth/login` and then uses the same proxied APIs as any client.

use axum::{http::header, response::IntoResponse, routing::get, Router};

const INDEX: &str = include_str!("../../console/index.html");
const STYLE: &str = include_str!("../../console/console.css");
const SCRIPT: &str = include_str!("../../console/console.js");

pub fn router() -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", INDEX) }),
        )
        .route(
            "/console/console.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE) }),
        )
        .route(
            "/console/console.js",
            get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }),
        )
}

/// The console loads nothing but its own files and talks to nothing but this gateway; no page
/// may frame it (clickjacking). Anything injected despite the escaping would not run.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        body,
    )
}
