//! The gateway against local stand-in upstreams (real sockets): logging in, the login rate
//! limit, 502 for a down upstream, 504 for a slow one, request ids, streaming, `/health`,
//! `/docs` and the web console.

mod common;

use common::{
    claims, dead_url, fake_upstream, problem, spawn_gateway, GatewayOptions, ADMIN_PASSWORD,
};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Instant;
use web::auth::Role;

#[tokio::test]
async fn login_returns_a_bearer_token_that_me_echoes() {
    let gateway = spawn_gateway(GatewayOptions::nothing_up()).await;
    let response = gateway.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let token = body["token"].as_str().unwrap();
    let verified = common::keys()
        .verify(token)
        .expect("the APIs can verify it");
    assert_eq!(verified.sub, "admin");
    assert_eq!(verified.role, Role::Admin);
    assert_eq!(verified.exp - verified.iat, 3600);

    let me: Value = gateway
        .client
        .get(gateway.url("/api/v1/auth/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["sub"], "admin");
    assert_eq!(me["role"], "admin");
    assert_eq!(me["exp"], verified.exp);

    let anonymous = gateway.get("/api/v1/auth/me").await;
    let (status, challenge, _) = problem(anonymous).await;
    assert_eq!(status, 401);
    assert!(challenge.unwrap().starts_with("Bearer"));
}

#[tokio::test]
async fn a_wrong_password_or_unknown_user_is_401() {
    let gateway = spawn_gateway(GatewayOptions::nothing_up()).await;
    for (user, password) in [("admin", "not-the-password"), ("nobody", ADMIN_PASSWORD)] {
        let (status, challenge, body) = problem(gateway.login(user, password).await).await;
        assert_eq!(status, 401, "{user}");
        assert_eq!(body["error"], "unauthorized");
        assert!(body.get("token").is_none());
        assert!(challenge.unwrap().starts_with("Basic realm="));
    }
}

#[tokio::test]
async fn a_login_without_credentials_is_401_with_a_basic_challenge() {
    let gateway = spawn_gateway(GatewayOptions::nothing_up()).await;
    let response = gateway
        .client
        .post(gateway.url("/api/v1/auth/login"))
        .send()
        .await
        .unwrap();
    let (status, challenge, body) = problem(response).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "unauthorized");
    assert!(challenge
        .unwrap()
        .starts_with("Basic realm=\"cdc-platform\""));
}

#[tokio::test]
async fn logins_past_the_per_client_limit_are_429() {
    let gateway = spawn_gateway(GatewayOptions {
        login_rate_per_min: 3,
        ..GatewayOptions::nothing_up()
    })
    .await;
    for _ in 0..2 {
        assert_eq!(gateway.login("admin", "wrong-password").await.status(), 401);
    }
    assert_eq!(gateway.login("admin", ADMIN_PASSWORD).await.status(), 200);
    let limited = gateway.login("admin", ADMIN_PASSWORD).await;
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let (status, _, body) = problem(limited).await;
    assert_eq!(status, 429);
    assert_eq!(body["error"], "too_many_requests");
}

#[tokio::test]
async fn a_flood_of_logins_from_one_address_does_not_lock_another_account_out() {
    let gateway = spawn_gateway(GatewayOptions {
        login_rate_per_min: 3,
        ..GatewayOptions::nothing_up()
    })
    .await;
    let statuses: Vec<u16> = futures::future::join_all(
        (0..6).map(|_| async { gateway.login("mallory", "guess").await.status().as_u16() }),
    )
    .await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        3,
        "{statuses:?}"
    );
    // The same address, another account: not locked out.
    assert_eq!(gateway.login("admin", ADMIN_PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn a_down_upstream_is_502_in_the_error_format() {
    let gateway = spawn_gateway(GatewayOptions::nothing_up()).await;
    for path in [
        "/api/v1/customers",
        "/api/v1/movies/x",
        "/api/v1/casts",
        "/api/v1/genres",
        "/api/v1/orders",
    ] {
        let response = gateway.get(path).await;
        assert!(response.headers().contains_key("x-request-id"));
        let (status, _, body) = problem(response).await;
        assert_eq!(status, 502, "{path}");
        assert_eq!(body["error"], "bad_gateway");
    }
}

#[tokio::test]
async fn a_slow_upstream_is_504_after_the_timeout() {
    let (upstream, _server) = fake_upstream().await;
    let gateway = spawn_gateway(GatewayOptions {
        customer_api_url: upstream,
        upstream_timeout_ms: 300,
        ..GatewayOptions::nothing_up()
    })
    .await;
    let started = Instant::now();
    let response = gateway.get("/api/v1/customers/slow").await;
    let (status, _, body) = problem(response).await;
    assert_eq!(status, 504);
    assert_eq!(body["error"], "gateway_timeout");
    assert!(
        started.elapsed() < common::SLOW,
        "answered at the timeout, not when the upstream did"
    );
    // A quick request on the same route still works.
    let quick = gateway.get("/api/v1/customers/echo").await;
    assert_eq!(quick.status(), 200);
}

#[tokio::test]
async fn the_request_id_and_credentials_reach_the_upstream_and_the_id_comes_back() {
    let (upstream, _server) = fake_upstream().await;
    let gateway = spawn_gateway(GatewayOptions {
        customer_api_url: upstream,
        ..GatewayOptions::nothing_up()
    })
    .await;
    let token = common::sign(&claims(Role::Reader));
    let response = gateway
        .client
        .get(gateway.url("/api/v1/customers/echo?limit=5"))
        .header("x-request-id", "req-from-client-42")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "req-from-client-42");
    let seen: Value = response.json().await.unwrap();
    assert_eq!(seen["x-request-id"], "req-from-client-42");
    assert_eq!(seen["path"], "/api/v1/customers/echo?limit=5");
    assert_eq!(seen["authorization"], format!("Bearer {token}"));
    assert_eq!(seen["x-forwarded-for"], "127.0.0.1");

    // Without one, the gateway makes one up and the upstream sees the same.
    let response = gateway
        .client
        .delete(gateway.url("/api/v1/customers/echo"))
        .send()
        .await
        .unwrap();
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(!id.is_empty());
    let seen: Value = response.json().await.unwrap();
    assert_eq!(seen["x-request-id"], id.as_str());
    assert_eq!(seen["method"], "DELETE");
}

#[tokio::test]
async fn dot_segments_never_reach_an_upstream_path_outside_the_route() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (upstream, _server) = fake_upstream().await;
    let gateway = spawn_gateway(GatewayOptions {
        customer_api_url: upstream,
        ..GatewayOptions::nothing_up()
    })
    .await;
    let token = common::sign(&claims(Role::Admin));
    let address = gateway.base.trim_start_matches("http://").to_owned();
    // Sent raw: an HTTP client library would resolve the dot-segments before sending.
    for path in [
        "/api/v1/customers/../../metrics",
        "/api/v1/customers/%2e%2e/%2e%2e/metrics",
    ] {
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        assert!(response.starts_with("HTTP/1.1 400"), "{path}: {response}");
        assert!(
            response.contains("\"error\":\"bad_request\""),
            "{path}: {response}"
        );
        assert!(
            !response.contains("\"path\""),
            "{path} reached the upstream: {response}"
        );
    }
}

#[tokio::test]
async fn large_bodies_stream_through_in_both_directions() {
    let (upstream, _server) = fake_upstream().await;
    let gateway = spawn_gateway(GatewayOptions {
        customer_api_url: upstream,
        ..GatewayOptions::nothing_up()
    })
    .await;
    let size = 3 * 1024 * 1024;
    let down = gateway
        .get(&format!("/api/v1/customers/big?n={size}"))
        .await;
    assert_eq!(down.status(), 200);
    assert_eq!(down.bytes().await.unwrap().len(), size);

    let up: Value = gateway
        .client
        .post(gateway.url("/api/v1/customers/echo"))
        .header("content-type", "application/octet-stream")
        .body(vec![b'y'; size])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(up["body_len"], size);
}

#[tokio::test]
async fn health_is_up_when_every_upstream_is_ready_and_503_naming_the_one_that_is_not() {
    let (upstream, _server) = fake_upstream().await;
    let all_up = spawn_gateway(GatewayOptions {
        customer_api_url: upstream.clone(),
        movie_api_url: upstream.clone(),
        order_api_url: upstream.clone(),
        ..GatewayOptions::nothing_up()
    })
    .await;
    let response = all_up.get("/health").await;
    assert_eq!(response.status(), 200);
    let health: Value = response.json().await.unwrap();
    assert_eq!(health["status"], "UP", "{health}");
    for service in ["customer-api", "movie-api", "order-api", "gateway"] {
        assert_eq!(health["services"][service]["status"], "UP", "{health}");
    }

    let order_down = dead_url();
    let one_down = spawn_gateway(GatewayOptions {
        customer_api_url: upstream.clone(),
        movie_api_url: upstream,
        order_api_url: order_down.clone(),
        ..GatewayOptions::nothing_up()
    })
    .await;
    let response = one_down.get("/health").await;
    assert_eq!(response.status(), 503);
    let health: Value = response.json().await.unwrap();
    assert_eq!(health["status"], "DOWN");
    assert_eq!(health["services"]["order-api"]["status"], "DOWN");
    assert_eq!(health["services"]["customer-api"]["status"], "UP");
    // Anonymous callers see no internal address or error text; a signed-in one does.
    assert_eq!(health["services"]["order-api"], json!({"status": "DOWN"}));
    let detailed: Value = one_down
        .client
        .get(one_down.url("/health"))
        .bearer_auth(common::sign(&claims(Role::Reader)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        detailed["services"]["order-api"]["url"],
        order_down.as_str()
    );
    assert!(
        detailed["services"]["order-api"]["reason"].is_string(),
        "{detailed}"
    );

    // The gateway's own probes stay separate and open.
    for path in ["/health/live", "/health/ready", "/metrics"] {
        let response = one_down.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn docs_links_every_services_swagger_ui() {
    let gateway = spawn_gateway(GatewayOptions::nothing_up()).await;
    let response = gateway.get("/docs").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let page = response.text().await.unwrap();
    for link in [
        "/api/v1/customers/docs/",
        "/api/v1/movies/docs/",
        "/api/v1/casts/docs/",
        "/api/v1/orders/docs/",
    ] {
        assert!(
            page.contains(&format!("href=\"{link}\"")),
            "{link} in {page}"
        );
    }
}

#[tokio::test]
async fn the_console_is_served_at_the_root_with_its_assets() {
    let gateway = spawn_gateway(GatewayOptions::nothing_up()).await;
    let page = gateway.get("/").await;
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    // Its own files only, and no page may frame it.
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let html = page.text().await.unwrap();
    for needle in [
        "id=\"login-form\"",
        "data-testid=\"live-panel\"",
        "data-testid=\"edit-form\"",
        "/console/console.js",
        "/console/console.css",
    ] {
        assert!(html.contains(needle), "{needle}");
    }
    let script = gateway.get("/console/console.js").await;
    assert!(script.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    let script = script.text().await.unwrap();
    for endpoint in [
        "/api/v1/auth/login",
        "/api/v1/auth/me",
        "/api/v1/customers",
        "/api/v1/movies",
        "/api/v1/casts",
        "/api/v1/orders/generator",
        "/api/v1/events/stream",
        "If-Match",
        "/health",
    ] {
        assert!(script.contains(endpoint), "{endpoint}");
    }
    let style = gateway.get("/console/console.css").await;
    assert_eq!(style.status(), 200);
    assert!(style.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
}

#[tokio::test]
async fn an_unknown_path_is_a_json_404() {
    let gateway = spawn_gateway(GatewayOptions::nothing_up()).await;
    let response = gateway.get("/api/v1/nothing-here").await;
    let (status, _, body) = problem(response).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"], "not_found");
}
