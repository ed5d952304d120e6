//! Forwarding requests to the APIs behind the gateway.
//!
//! Bodies stream both ways (nothing is buffered), status codes and end-to-end headers pass
//! through unchanged, the request id travels upstream in `x-request-id`. An upstream that cannot
//! be reached is 502 `bad_gateway`; one that has not answered (its response headers) within
//! the timeout is 504 `gateway_timeout`.

use axum::{
    body::{Body, HttpBody},
    extract::{ConnectInfo, Request, State},
    http::{header, HeaderMap, HeaderName, HeaderValue},
    response::Response,
};
use futures::TryStreamExt;
use std::{net::SocketAddr, sync::Arc, time::Duration};
use web::ApiError;

/// One API behind the gateway.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// The service's name, as in logs, metrics and `/health`.
    pub name: &'static str,
    /// Its base URL without a trailing slash, e.g. `http://127.0.0.1:8001`.
    pub base_url: String,
}

impl Upstream {
    pub fn new(name: &'static str, base_url: &str) -> Self {
        Self {
            name,
            base_url: base_url.trim_end_matches('/').to_owned(),
        }
    }
}

/// The HTTP client shared by every forwarded request.
#[derive(Clone)]
pub struct Forwarder {
    client: reqwest::Client,
    timeout: Duration,
}

/// What a route forwards to.
#[derive(Clone)]
pub struct Route {
    pub forwarder: Forwarder,
    pub upstream: Arc<Upstream>,
}

impl Forwarder {
    pub fn new(timeout: Duration) -> Self {
        let client = reqwest::Client::builder()
            // A redirect is the client's to follow, not the gateway's.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .build()
            .expect("building the upstream HTTP client");
        Self { client, timeout }
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends `request` to `upstream` and streams its answer back.
    pub async fn forward(
        &self,
        upstream: &Upstream,
        peer: Option<SocketAddr>,
        request: Request,
    ) -> Result<Response, ApiError> {
        let (parts, body) = request.into_parts();
        if has_dot_segment(parts.uri.path()) {
            return Err(ApiError::BadRequest(
                "the path may not contain '.' or '..' segments".to_owned(),
            ));
        }
        let path = parts
            .uri
            .path_and_query()
            .map(|pq| pq.as_str())
            .unwrap_or("/");
        let url = format!("{}{path}", upstream.base_url);
        let mut headers = end_to_end(&parts.headers);
        if let Some(peer) = peer {
            append_forwarded_for(&mut headers, peer);
        }
        if let Some(host) = parts.headers.get(header::HOST) {
            headers.insert(HeaderName::from_static("x-forwarded-host"), host.clone());
        }
        let mut upstream_request = self
            .client
            .request(parts.method.clone(), &url)
            .headers(headers);
        // A request without a body (most GETs) goes upstream without one, not as an empty chunked
        // stream.
        if body.size_hint().exact() != Some(0) {
            upstream_request =
                upstream_request.body(reqwest::Body::wrap_stream(body.into_data_stream()));
        }

        let started = std::time::Instant::now();
        let outcome = tokio::time::timeout(self.timeout, upstream_request.send()).await;
        let response = match outcome {
            Err(_) => {
                record(upstream.name, "timeout", started);
                return Err(ApiError::GatewayTimeout(format!(
                    "{} did not answer within {} ms",
                    upstream.name,
                    self.timeout.as_millis()
                )));
            }
            Ok(Err(e)) => {
                record(upstream.name, "unreachable", started);
                tracing::warn!(upstream = upstream.name, %url, error = %e, "upstream request failed");
                return Err(ApiError::BadGateway(format!(
                    "{} is unreachable; try again later",
                    upstream.name
                )));
            }
            Ok(Ok(response)) => response,
        };
        record(upstream.name, response.status().as_str(), started);

        let mut builder = Response::builder().status(response.status());
        if let Some(headers) = builder.headers_mut() {
            *headers = end_to_end(response.headers());
        }
        let body = Body::from_stream(response.bytes_stream().map_err(std::io::Error::other));
        builder
            .body(body)
            .map_err(|e| ApiError::internal(format!("building the proxied response: {e}")))
    }
}

/// Whether `path` holds a dot-segment (`.` or `..`, percent-encoded too). The upstream URL is
/// built by a URL parser that resolves them, so `/api/v1/customers/../../metrics` would reach
/// the upstream's own `/metrics`, outside the route the gateway matched and checked.
fn has_dot_segment(path: &str) -> bool {
    path.split('/').any(|segment| {
        let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
        decoded == "." || decoded == ".."
    })
}

/// Handler for every proxied route.
pub async fn forward(State(route): State<Route>, request: Request) -> Result<Response, ApiError> {
    let peer = client_addr(&request);
    route
        .forwarder
        .forward(&route.upstream, peer, request)
        .await
}

/// The TCP peer of the request (set when served with connect info).
pub fn client_addr<B>(request: &axum::http::Request<B>) -> Option<SocketAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr)
}

/// Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are not forwarded; nor is
/// `Host`, which the client sets for the upstream's address.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
];

fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    // Headers named in `Connection` are hop-by-hop too.
    let named: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .collect();
    let mut kept = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let name_str = name.as_str();
        if HOP_BY_HOP.contains(&name_str) || named.iter().any(|n| n == name_str) {
            continue;
        }
        kept.append(name.clone(), value.clone());
    }
    kept
}

fn append_forwarded_for(headers: &mut HeaderMap, peer: SocketAddr) {
    let name = HeaderName::from_static("x-forwarded-for");
    let value = match headers.get(&name).and_then(|v| v.to_str().ok()) {
        Some(earlier) => format!("{earlier}, {}", peer.ip()),
        None => peer.ip().to_string(),
    };
    if let Ok(value) = HeaderValue::from_str(&value) {
        headers.insert(name, value);
    }
}

fn record(upstream: &'static str, outcome: &str, started: std::time::Instant) {
    metrics::counter!(
        "gateway_upstream_requests_total",
        "upstream" => upstream,
        "outcome" => outcome.to_owned()
    )
    .increment(1);
    metrics::histogram!("gateway_upstream_seconds", "upstream" => upstream)
        .record(started.elapsed().as_secs_f64());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments_are_spotted_plain_and_percent_encoded() {
        for bad in [
            "/api/v1/customers/../../metrics",
            "/api/v1/customers/./x",
            "/api/v1/customers/%2e%2e/%2E%2E/metrics",
            "/api/v1/customers/.%2e/health",
            "/api/v1/customers/x/..",
        ] {
            assert!(has_dot_segment(bad), "{bad}");
        }
        for ok in [
            "/api/v1/customers",
            "/api/v1/customers/a.b",
            "/api/v1/customers/...x",
        ] {
            assert!(!has_dot_segment(ok), "{ok}");
        }
    }

    #[test]
    fn hop_by_hop_headers_are_dropped_and_the_rest_kept() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONNECTION,
            "keep-alive, x-secret-hop".parse().unwrap(),
        );
        headers.insert("x-secret-hop", "1".parse().unwrap());
        headers.insert(header::TRANSFER_ENCODING, "chunked".parse().unwrap());
        headers.insert(header::HOST, "gateway".parse().unwrap());
        headers.insert(header::AUTHORIZATION, "Bearer t".parse().unwrap());
        headers.insert("x-request-id", "abc".parse().unwrap());
        let kept = end_to_end(&headers);
        assert_eq!(kept.len(), 2, "{kept:?}");
        assert_eq!(kept["x-request-id"], "abc");
        assert_eq!(kept[header::AUTHORIZATION], "Bearer t");
    }
}
