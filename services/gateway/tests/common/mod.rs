//! The gateway in-process on a free port against a fresh database, in front of real API
//! binaries or of small local servers that play a healthy, slow or echoing upstream.
#![allow(dead_code)]

use axum::{
    body::Bytes,
    http::{HeaderMap, Method, Uri},
    routing::{any, get},
    Json, Router,
};
use clap::Parser;
use gateway::{config::Cli, startup};
use reqwest::{Client, Response};
use runtime::Shutdown;
use serde_json::{json, Value};
use std::time::Duration;
use test_support::{process::RunningService, TestEnv};
use web::auth::{Claims, JwtKeys, JwtSecret, Role};

pub const JWT_SECRET: &str = "the-gateway-integration-tests-jwt-secret";
pub const ADMIN_PASSWORD: &str = "first-admin-password";

pub fn keys() -> JwtKeys {
    JwtKeys::new(&JWT_SECRET.parse::<JwtSecret>().expect("a valid secret"))
}

/// A token signed like the gateway's, with claims of the test's choosing.
pub fn sign(claims: &Claims) -> String {
    keys().sign(claims)
}

/// A Kafka address where nothing listens.
pub fn dead_kafka() -> &'static str {
    static ADDR: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ADDR.get_or_init(|| format!("127.0.0.1:{}", test_support::free_port()))
}

/// A URL where nothing listens.
pub fn dead_url() -> String {
    format!("http://127.0.0.1:{}", test_support::free_port())
}

pub struct GatewayOptions {
    pub customer_api_url: String,
    pub movie_api_url: String,
    pub order_api_url: String,
    pub upstream_timeout_ms: u64,
    pub login_rate_per_min: u32,
    /// The live event feed: (bootstrap servers, topic prefix); off when `None`, so that no test
    /// gateway ever reaches for a broker on the default port.
    pub event_feed: Option<(String, String)>,
}

impl GatewayOptions {
    /// Every upstream down; set the ones a test needs.
    pub fn nothing_up() -> Self {
        Self {
            customer_api_url: dead_url(),
            movie_api_url: dead_url(),
            order_api_url: dead_url(),
            upstream_timeout_ms: 30_000,
            login_rate_per_min: 10,
            event_feed: None,
        }
    }

    pub fn in_front_of(apis: &Apis) -> Self {
        Self {
            customer_api_url: apis.customer.http.clone(),
            movie_api_url: apis.movie.http.clone(),
            order_api_url: apis.order.http.clone(),
            ..Self::nothing_up()
        }
    }
}

pub struct TestGateway {
    pub base: String,
    pub database_url: String,
    pub client: Client,
    shutdown: Shutdown,
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}

pub async fn spawn_gateway(options: GatewayOptions) -> TestGateway {
    let database_url = TestEnv::get().fresh_database().await;
    spawn_gateway_on(&database_url, options).await
}

/// A gateway using `database_url` (which may already hold users).
pub async fn spawn_gateway_on(database_url: &str, options: GatewayOptions) -> TestGateway {
    let timeout = options.upstream_timeout_ms.to_string();
    let rate = options.login_rate_per_min.to_string();
    let (bootstrap, prefix, topics) = match &options.event_feed {
        Some((bootstrap, prefix)) => (bootstrap.as_str(), prefix.as_str(), "customers,orders"),
        None => (dead_kafka(), "", "off"),
    };
    let cli = Cli::try_parse_from([
        "gateway",
        "--addr",
        "127.0.0.1:0",
        "--database-url",
        database_url,
        "--jwt-secret",
        JWT_SECRET,
        "--admin-user",
        "admin",
        "--admin-password",
        ADMIN_PASSWORD,
        "--customer-api-url",
        &options.customer_api_url,
        "--movie-api-url",
        &options.movie_api_url,
        "--order-api-url",
        &options.order_api_url,
        "--upstream-timeout-ms",
        &timeout,
        "--login-rate-per-min",
        &rate,
        "--bootstrap-servers",
        bootstrap,
        "--topic-prefix",
        prefix,
        "--event-topics",
        topics,
    ])
    .expect("valid test config");
    let shutdown = Shutdown::new();
    let app = startup::build(&cli.config, &shutdown)
        .await
        .expect("building the gateway");
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run(shutdown.clone()));
    TestGateway {
        base,
        database_url: database_url.to_owned(),
        client: Client::new(),
        shutdown,
    }
}

impl TestGateway {
    /// Asks the gateway to shut down, as SIGTERM does.
    pub fn shut_down(&self) {
        self.shutdown.trigger();
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A plain GET, without a token.
    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn login(&self, username: &str, password: &str) -> Response {
        self.client
            .post(self.url("/api/v1/auth/login"))
            .basic_auth(username, Some(password))
            .send()
            .await
            .unwrap()
    }

    /// Logs in and returns the token, asserting success.
    pub async fn token(&self, username: &str, password: &str) -> String {
        let response = self.login(username, password).await;
        assert_eq!(response.status(), 200, "login as {username}");
        let body: Value = response.json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
    }

    pub async fn admin_token(&self) -> String {
        self.token("admin", ADMIN_PASSWORD).await
    }
}

/// `gateway create-user` as an operator runs it; returns its output, asserting success.
pub async fn create_user_with_cli(
    database_url: &str,
    username: &str,
    role: Role,
    password: &str,
) -> String {
    let output = tokio::process::Command::new(test_support::process::binary("gateway"))
        .args([
            "create-user",
            "--username",
            username,
            "--role",
            role.as_str(),
        ])
        .env("GATEWAY_DATABASE_URL", database_url)
        .env("NEW_USER_PASSWORD", password)
        .env("LOG_FORMAT", "text")
        .output()
        .await
        .expect("running gateway create-user");
    let text = test_support::process::output_text(&output);
    assert!(output.status.success(), "create-user failed: {text}");
    text
}

/// The three APIs as real binaries, each on its own database, verifying tokens with
/// [`JWT_SECRET`].
pub struct Apis {
    pub customer: RunningService,
    pub movie: RunningService,
    pub order: RunningService,
}

pub async fn start_apis() -> Apis {
    let env = TestEnv::get();
    let (customers, movies, orders) = tokio::join!(
        env.fresh_database(),
        env.fresh_database(),
        env.fresh_database()
    );
    let secret = || ("JWT_SECRET", JWT_SECRET.to_owned());
    let customer_env = [("CUSTOMER_DATABASE_URL", customers), secret()];
    let movie_env = [("MOVIE_DATABASE_URL", movies), secret()];
    let order_env = [("ORDER_DATABASE_URL", orders), secret()];
    let (customer, movie, order) = tokio::join!(
        RunningService::start("customer-api", "CUSTOMER_API_ADDR", &customer_env),
        RunningService::start("movie-api", "MOVIE_API_ADDR", &movie_env),
        RunningService::start("order-api", "ORDER_API_ADDR", &order_env),
    );
    Apis {
        customer,
        movie,
        order,
    }
}

/// How long the slow upstream takes to answer `/slow`.
pub const SLOW: Duration = Duration::from_secs(10);

/// A real HTTP server standing in for an API: `/health/ready` is 200, `…/slow` answers after
/// [`SLOW`], `…/big` sends `n` bytes (`?n=`), and anything else echoes what arrived.
pub async fn fake_upstream() -> (String, Shutdown) {
    async fn echo(method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Json<Value> {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        Json(json!({
            "method": method.as_str(),
            "path": uri.to_string(),
            "x-request-id": header("x-request-id"),
            "x-forwarded-for": header("x-forwarded-for"),
            "authorization": header("authorization"),
            "body_len": body.len(),
        }))
    }
    async fn big(uri: Uri) -> Vec<u8> {
        let n: usize = uri
            .query()
            .and_then(|q| q.strip_prefix("n="))
            .and_then(|n| n.parse().ok())
            .unwrap_or(1024);
        vec![b'x'; n]
    }
    let app = Router::new()
        .route("/health/ready", get(|| async { "ready" }))
        .route(
            "/api/v1/customers/slow",
            get(|| async {
                tokio::time::sleep(SLOW).await;
                "finally"
            }),
        )
        .route("/api/v1/customers/big", get(big))
        .fallback(any(echo))
        .layer(axum::extract::DefaultBodyLimit::disable());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = Shutdown::new();
    tokio::spawn(runtime::serve::serve(listener, app, shutdown.clone()));
    (base, shutdown)
}

/// Status, `WWW-Authenticate` and body of an error response, checking the platform's format.
pub async fn problem(response: Response) -> (u16, Option<String>, Value) {
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: Value = response.json().await.expect("error bodies are JSON");
    assert!(
        body["error"].is_string() && body["message"].is_string() && body["details"].is_object(),
        "{body}"
    );
    (status, challenge, body)
}

/// Claims valid for an hour.
pub fn claims(role: Role) -> Claims {
    Claims::new("tester", role, Duration::from_secs(3600))
}
