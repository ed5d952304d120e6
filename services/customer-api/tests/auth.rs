//! Starting customer-api with and without auth: JWT mode needs a secret, `off` mode is open.
//! Who may call it in JWT mode (tokens, roles, challenges) is the shared conformance suite's
//! `reads_need_a_token_and_writes_need_an_admin`.

use clap::Parser;
use customer_api::{config::Config, startup};
use reqwest::{Client, StatusCode};
use serde_json::json;

fn new_customer() -> serde_json::Value {
    json!({"name": "Ada Lovelace", "email": format!("{}@example.com", test_support::unique("ada"))})
}

#[tokio::test]
async fn jwt_mode_without_a_secret_refuses_to_start_and_off_mode_is_open() {
    let env = test_support::TestEnv::get();
    let database_url = env.fresh_database().await;
    let args = |mode: &'static str| {
        Config::try_parse_from([
            "customer-api",
            "--addr",
            "127.0.0.1:0",
            "--database-url",
            &database_url,
            "--auth-mode",
            mode,
        ])
        .unwrap()
    };
    let mut jwt = args("jwt");
    jwt.auth.jwt_secret = None;
    let Err(error) = startup::build(&jwt).await else {
        panic!("no secret, no start");
    };
    assert!(error.to_string().contains("JWT_SECRET"), "{error}");

    let app = startup::build(&args("off")).await.unwrap();
    let base = format!("http://{}", app.local_addr());
    let shutdown = runtime::Shutdown::new();
    tokio::spawn(app.run(shutdown.clone()));
    let response = Client::new()
        .post(format!("{base}/api/v1/customers"))
        .json(&new_customer())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    shutdown.trigger();
}
