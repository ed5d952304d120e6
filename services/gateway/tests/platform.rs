//! The gateway in front of the real customer-api, movie-api and order-api binaries: every
//! prefix reaches its service, every API enforces the tokens the gateway issues, and the
//! gateway binary bootstraps its first admin and creates users from the command line.

mod common;

use common::{
    claims, create_user_with_cli, problem, spawn_gateway, spawn_gateway_on, start_apis,
    GatewayOptions,
};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;
use test_support::{process::RunningService, TestEnv};
use web::auth::Role;

#[tokio::test]
async fn every_prefix_reaches_its_api_with_status_and_headers_intact() {
    let apis = start_apis().await;
    let gateway = spawn_gateway(GatewayOptions::in_front_of(&apis)).await;
    let token = gateway.admin_token().await;
    let client = &gateway.client;

    let email = format!("{}@example.com", test_support::unique("ada"));
    let created = client
        .post(gateway.url("/api/v1/customers"))
        .bearer_auth(&token)
        .json(&json!({"name": "Ada Lovelace", "email": email}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/api/v1/customers/"), "{location}");
    assert!(created.headers().contains_key("etag"));
    let customer: Value = created.json().await.unwrap();
    let fetched: Value = client
        .get(gateway.url(&location))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fetched, customer);

    let cast = client
        .post(gateway.url("/api/v1/casts"))
        .bearer_auth(&token)
        .json(&json!({"name": "Toshiro Mifune"}))
        .send()
        .await
        .unwrap();
    assert_eq!(cast.status(), StatusCode::CREATED);
    let order = client
        .post(gateway.url("/api/v1/orders"))
        .bearer_auth(&token)
        .json(&json!({"symbol": "AAPL", "quantity": 10}))
        .send()
        .await
        .unwrap();
    assert_eq!(order.status(), StatusCode::CREATED);
    let order: Value = order.json().await.unwrap();

    for path in [
        "/api/v1/customers".to_owned(),
        "/api/v1/movies".to_owned(),
        "/api/v1/casts?limit=1".to_owned(),
        "/api/v1/genres".to_owned(),
        format!("/api/v1/orders/{}", order["id"].as_str().unwrap()),
        "/api/v1/orders/generator".to_owned(),
    ] {
        let response = client
            .get(gateway.url(&path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    // An upstream's own errors pass through unchanged.
    let missing = client
        .get(gateway.url("/api/v1/customers/00000000-0000-7000-8000-000000000000"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let (status, _, body) = problem(missing).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"], "not_found");

    // Every Swagger UI that /docs links is served through the gateway, without a token.
    for docs in [
        "/api/v1/customers/docs/",
        "/api/v1/movies/docs/",
        "/api/v1/casts/docs/",
        "/api/v1/orders/docs/",
        "/api/v1/orders/openapi.json",
    ] {
        let response = client.get(gateway.url(docs)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{docs}");
    }
    let health = client.get(gateway.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test]
async fn every_api_enforces_the_gateways_tokens() {
    let apis = start_apis().await;
    let gateway = spawn_gateway(GatewayOptions::in_front_of(&apis)).await;
    create_user_with_cli(
        &gateway.database_url,
        "rita",
        Role::Reader,
        "reader-password",
    )
    .await;
    let admin = gateway.admin_token().await;
    let reader = gateway.token("rita", "reader-password").await;
    let mut expired = claims(Role::Admin);
    expired.iat -= 7200;
    expired.exp -= 7200;
    let expired = common::sign(&expired);
    let mut tampered: Vec<&str> = reader.split('.').collect();
    tampered[1] = admin.split('.').nth(1).unwrap();
    let tampered = tampered.join(".");

    let writes = [
        (
            "/api/v1/customers",
            json!({"name": "Grace Hopper", "email": "x@example.com"}),
        ),
        ("/api/v1/casts", json!({"name": "Setsuko Hara"})),
        ("/api/v1/orders", json!({"symbol": "MSFT", "quantity": 1})),
    ];
    for (path, body) in &writes {
        // The same through the gateway and directly against the API.
        let direct = if path.contains("customers") {
            &apis.customer.http
        } else if path.contains("casts") {
            &apis.movie.http
        } else {
            &apis.order.http
        };
        for base in [gateway.base.as_str(), direct.as_str()] {
            let url = format!("{base}{path}");
            let post = |token: Option<&str>| {
                let request = gateway.client.post(&url).json(body);
                match token {
                    Some(t) => request.bearer_auth(t),
                    None => request,
                }
                .send()
            };
            let (status, challenge, _) = problem(post(None).await.unwrap()).await;
            assert_eq!(status, 401, "no token, {url}");
            assert!(challenge.unwrap().starts_with("Bearer"), "{url}");
            for (what, token) in [("expired", &expired), ("tampered", &tampered)] {
                let (status, _, _) = problem(post(Some(token)).await.unwrap()).await;
                assert_eq!(status, 401, "{what}, {url}");
            }
            let (status, _, body) = problem(post(Some(&reader)).await.unwrap()).await;
            assert_eq!(status, 403, "reader write, {url}");
            assert_eq!(body["error"], "forbidden");
            let reads = gateway
                .client
                .get(&url)
                .bearer_auth(&reader)
                .send()
                .await
                .unwrap();
            assert_eq!(reads.status(), 200, "reader read, {url}");
        }
        let created = gateway
            .client
            .post(gateway.url(path))
            .bearer_auth(&admin)
            .json(body)
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), StatusCode::CREATED, "admin write {path}");
    }
}

#[tokio::test]
async fn create_user_refuses_a_taken_name_and_a_short_password() {
    let gateway = spawn_gateway(GatewayOptions::nothing_up()).await;
    let output =
        create_user_with_cli(&gateway.database_url, "olga", Role::Admin, "long-enough-pw").await;
    assert!(
        output.contains("created user olga with role admin"),
        "{output}"
    );
    assert_eq!(gateway.login("olga", "long-enough-pw").await.status(), 200);

    for (user, password) in [("olga", "another-password"), ("pavel", "short")] {
        let status = tokio::process::Command::new(test_support::process::binary("gateway"))
            .args(["create-user", "--username", user, "--role", "reader"])
            .env("GATEWAY_DATABASE_URL", &gateway.database_url)
            .env("NEW_USER_PASSWORD", password)
            .output()
            .await
            .unwrap()
            .status;
        assert!(!status.success(), "{user}");
    }
}

#[tokio::test]
async fn the_binary_prints_a_generated_first_admin_password_once_and_stops_on_sigterm() {
    let env = TestEnv::get();
    let database_url = env.fresh_database().await;
    let envs = [
        ("GATEWAY_DATABASE_URL", database_url.clone()),
        ("JWT_SECRET", common::JWT_SECRET.to_owned()),
        ("ADMIN_USER", "root".to_owned()),
        ("GATEWAY_EVENT_TOPICS", "off".to_owned()),
    ];
    let mut first = RunningService::start("gateway", "GATEWAY_ADDR", &envs).await;
    let log = first.process.log();
    let password = log
        .lines()
        .find_map(|line| {
            line.split_once("with password: ")
                .map(|(_, p)| p.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("no generated password in the log:\n{log}"));
    let login = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", first.http))
        .basic_auth("root", Some(&password))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let status = first.process.terminate(Duration::from_secs(20)).await;
    assert!(status.success(), "exit status {status:?}");

    // A second start finds the admin and prints no password.
    let second = RunningService::start("gateway", "GATEWAY_ADDR", &envs).await;
    assert!(!second.process.log().contains("with password"));
    drop(second);

    // In-process gateways on the same database keep that admin too.
    let gateway = spawn_gateway_on(&database_url, GatewayOptions::nothing_up()).await;
    assert_eq!(gateway.login("root", &password).await.status(), 200);
    assert_eq!(
        gateway
            .login("admin", common::ADMIN_PASSWORD)
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn the_binary_refuses_to_start_without_a_jwt_secret() {
    let env = TestEnv::get();
    let mut process = test_support::process::ServiceProcess::spawn(
        "gateway",
        &[
            ("GATEWAY_DATABASE_URL", env.fresh_database().await),
            (
                "GATEWAY_ADDR",
                format!("127.0.0.1:{}", test_support::free_port()),
            ),
        ],
        &env.runtime_dir,
    );
    let status = process.wait(Duration::from_secs(30)).await;
    assert!(!status.success());
    assert!(
        process.log().contains("JWT_SECRET is required"),
        "{}",
        process.log()
    );
}
