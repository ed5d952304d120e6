//! The web console in a real browser, end to end: the customer-api, its outbox relay and the
//! gateway run as the real binaries (one JWT secret, a topic prefix of this test's own, free
//! ports), and `tests/browser/console.spec.mjs` drives headless Chromium through Playwright:
//! sign in, a 422 shown next to its field, create a customer and see its event in the live
//! panel, page through the list, edit (and meet a concurrent edit as a 412), delete, and save
//! a screenshot.
//!
//! Needs Debian's Chromium (`CHROMIUM_BIN`) and playwright-core (`PLAYWRIGHT_NODE_PATH`), which
//! `scripts/test.sh` installs (`setup/lib.sh`: `ensure_chromium`, `ensure_playwright`). Without
//! them this test fails and says so; it never skips.

mod common;

use common::{dead_url, ADMIN_PASSWORD, JWT_SECRET};
use serde_json::{json, Value};
use std::{
    path::{Path, PathBuf},
    time::Duration,
};
use test_support::{process::RunningService, TestEnv};

/// How long the whole browser session may take.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(240);
const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

/// A tool the test cannot run without: its path from `var`, or a failure saying how to get it.
fn browser_tool(var: &str, check: impl Fn(&Path) -> bool, what: &str) -> PathBuf {
    let path = std::env::var(var).unwrap_or_default();
    assert!(
        !path.is_empty() && check(Path::new(&path)),
        "{var} is {path:?}: the browser test needs {what}. scripts/test.sh installs it \
         (setup/lib.sh ensure_chromium / ensure_playwright) and exports {var}; see its log for \
         why the install failed"
    );
    PathBuf::from(path)
}

#[tokio::test]
async fn in_the_browser_the_console_creates_edits_and_deletes_a_customer_and_shows_each_event_live()
{
    let chromium = browser_tool(
        "CHROMIUM_BIN",
        Path::is_file,
        "Chromium (Debian's chromium package, /usr/bin/chromium)",
    );
    let node_path = browser_tool(
        "PLAYWRIGHT_NODE_PATH",
        |p| p.join("playwright-core/package.json").is_file(),
        "playwright-core (npm)",
    );

    let env = TestEnv::get();
    let prefix = format!("{}.", test_support::unique("browser"));
    let (customers_db, gateway_db) = tokio::join!(env.fresh_database(), env.fresh_database());
    let secret = || ("JWT_SECRET", JWT_SECRET.to_owned());
    let customer_api = RunningService::start(
        "customer-api",
        "CUSTOMER_API_ADDR",
        &[("CUSTOMER_DATABASE_URL", customers_db.clone()), secret()],
    )
    .await;
    let _relay = RunningService::relay(&customers_db, &env.bootstrap, &prefix, &[]).await;
    let gateway = RunningService::start(
        "gateway",
        "GATEWAY_ADDR",
        &[
            ("GATEWAY_DATABASE_URL", gateway_db),
            secret(),
            ("ADMIN_PASSWORD", ADMIN_PASSWORD.to_owned()),
            ("CUSTOMER_API_URL", customer_api.http.clone()),
            ("MOVIE_API_URL", dead_url()),
            ("ORDER_API_URL", dead_url()),
            ("KAFKA_BOOTSTRAP_SERVERS", env.bootstrap.clone()),
            ("TOPIC_PREFIX", prefix.clone()),
            ("GATEWAY_EVENT_TOPICS", "customers".to_owned()),
        ],
    )
    .await;
    let client = reqwest::Client::new();
    test_support::eventually(
        "the gateway's event feed to be UP",
        Duration::from_secs(60),
        || async {
            let health: Value = client
                .get(format!("{}/health", gateway.http))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            (health["services"]["event-feed"]["status"] == "UP").then_some(())
        },
    )
    .await;

    // More customers than one page holds, so that the console has pages to turn.
    let login: Value = client
        .post(format!("{}/api/v1/auth/login", gateway.http))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().expect("a token");
    for n in 1..=12 {
        let created = client
            .post(format!("{}/api/v1/customers", gateway.http))
            .bearer_auth(token)
            .json(&json!({
                "name": format!("Customer {n}"),
                "email": format!("{}@example.com", test_support::unique("pager")),
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
    }

    let scratch = env.scratch_dir("browser");
    let screenshot = scratch.join("console.png");
    let user_data_dir = scratch.join("chromium-profile");
    std::fs::create_dir_all(&user_data_dir).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/console.spec.mjs");
    let run = tokio::process::Command::new("node")
        .arg(&script)
        .env("GATEWAY_URL", &gateway.http)
        .env("ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("CHROMIUM_BIN", &chromium)
        .env("PLAYWRIGHT_NODE_PATH", &node_path)
        .env("USER_DATA_DIR", &user_data_dir)
        .env("SCREENSHOT_PATH", &screenshot)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(SCRIPT_TIMEOUT, run)
        .await
        .unwrap_or_else(|_| panic!("{} took longer than {SCRIPT_TIMEOUT:?}", script.display()))
        .expect("running node (Node.js is installed by scripts/test.sh with maildev)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}{stderr}");
    assert!(
        output.status.success(),
        "{} failed ({}):\n{stdout}{stderr}\n--- gateway log ---\n{}",
        script.display(),
        output.status,
        gateway.process.log()
    );

    let png = std::fs::read(&screenshot)
        .unwrap_or_else(|e| panic!("no screenshot at {}: {e}", screenshot.display()));
    assert!(
        png.starts_with(PNG_MAGIC) && png.len() > 10_000,
        "{} is not a PNG screenshot ({} bytes)",
        screenshot.display(),
        png.len()
    );
    println!("screenshot of the console: {}", screenshot.display());
}
