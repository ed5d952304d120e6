//! The gateway's own pages: `/docs` (links to every service's Swagger UI) and `/health` (the
//! readiness of every service behind it, 503 when any is down; the live event feed is listed
//! as `event-feed` but is optional, so it never makes the answer 503).

use crate::{
    feed::EventFeed,
    proxy::{Forwarder, Upstream},
};
use axum::{
    extract::State,
    http::StatusCode,
    response::{Html, IntoResponse},
    routing::get,
    Json, Router,
};
use futures::future::join_all;
use runtime::ops::ReadinessCheck;
use serde_json::{json, Map, Value};
use std::{sync::Arc, time::Duration};

/// Each Swagger UI behind the gateway: (title, path).
const DOCS: &[(&str, &str)] = &[
    ("Customers (customer-api)", "/api/v1/customers/docs/"),
    ("Movies and genres (movie-api)", "/api/v1/movies/docs/"),
    ("Casts (movie-api)", "/api/v1/casts/docs/"),
    (
        "Orders and the order generator (order-api)",
        "/api/v1/orders/docs/",
    ),
];

#[derive(Clone)]
pub struct HealthState {
    pub forwarder: Forwarder,
    pub upstreams: Arc<Vec<Upstream>>,
    /// The gateway's own dependency (its user database).
    pub own: ReadinessCheck,
    /// The console's live event feed: reported, but optional (it does not make /health 503).
    pub feed: EventFeed,
    /// A caller with a valid token sees each service's URL and why it is down; anonymous
    /// callers see the statuses only (no internal addresses or error texts).
    pub keys: web::auth::JwtKeys,
}

pub fn router(health: HealthState) -> Router {
    Router::new()
        .route("/docs", get(docs))
        .route("/health", get(aggregate_health).with_state(health))
}

async fn docs() -> Html<String> {
    let items: String = DOCS
        .iter()
        .map(|(title, path)| {
            format!("      <li><a href=\"{path}\">{title}</a> <code>{path}</code></li>\n")
        })
        .collect();
    Html(format!(
        r#"<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>API documentation</title>
  <style>body{{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;line-height:1.6}}code{{color:#555}}</style></head>
  <body>
    <h1>API documentation</h1>
    <p>Every API is reachable through this gateway. Log in with
    <code>POST /api/v1/auth/login</code> (HTTP Basic) for a token, then send
    <code>Authorization: Bearer &lt;token&gt;</code>; writes need role <code>admin</code>.</p>
    <ul>
{items}    </ul>
    <h2>The gateway's own endpoints</h2>
    <ul>
      <li><code>GET /api/v1/consumers</code> (any token): per consumer group (replicator,
      notifier, order-processor) and topic, each partition's committed offset, log end offset
      and lag; per topic, the dead letters in <code>&lt;topic&gt;.dlq</code> not yet re-driven.</li>
      <li><code>POST /api/v1/dlq/{{topic}}/redrive</code> (admin): re-publishes the waiting dead
      letters of <code>&lt;topic&gt;.dlq</code> onto <code>&lt;topic&gt;</code>, once each;
      answers <code>{{"topic", "redriven": n}}</code>. 404 for a topic no consumer reads, 503
      while Kafka is unreachable.</li>
      <li><code>GET /api/v1/events/stream</code>: the live change events (server-sent events).</li>
    </ul>
    <p>Health of every service: <a href="/health">/health</a></p>
  </body>
</html>
"#
    ))
}

/// How long one readiness probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

async fn aggregate_health(
    State(health): State<HealthState>,
    headers: axum::http::HeaderMap,
) -> impl IntoResponse {
    let detailed = health.keys.authenticate(&headers).is_ok();
    let probes = health.upstreams.iter().map(|upstream| {
        let client = health.forwarder.client().clone();
        async move {
            let url = format!("{}/health/ready", upstream.base_url);
            let outcome = client.get(&url).timeout(PROBE_TIMEOUT).send().await;
            let status = match outcome {
                Ok(r) if r.status().is_success() => json!({"status": "UP", "url": upstream.base_url}),
                Ok(r) => json!({
                    "status": "DOWN",
                    "url": upstream.base_url,
                    "reason": format!("readiness answered {}", r.status())
                }),
                Err(e) => json!({
                    "status": "DOWN",
                    "url": upstream.base_url,
                    "reason": if e.is_timeout() { "no answer in time".to_owned() } else { "unreachable".to_owned() }
                }),
            };
            (upstream.name, status)
        }
    });
    let mut services: Map<String, Value> = join_all(probes)
        .await
        .into_iter()
        .map(|(name, status)| (name.to_owned(), status))
        .collect();
    let (own, feed) = tokio::join!((health.own)(), health.feed.health());
    let own = match own {
        Ok(()) => json!({"status": "UP"}),
        Err(reason) => json!({"status": "DOWN", "reason": reason}),
    };
    services.insert("gateway".to_owned(), own);
    let all_up = services.values().all(|s| s["status"] == "UP");
    services.insert("event-feed".to_owned(), feed);
    if !detailed {
        for service in services.values_mut() {
            *service = json!({"status": service["status"]});
        }
    }
    let status = if all_up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({"status": if all_up { "UP" } else { "DOWN" }, "services": services})),
    )
}
