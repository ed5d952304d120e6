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

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
}
