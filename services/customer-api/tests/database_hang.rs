//! A database that hangs (accepts connections, answers nothing) is an outage the API reports,
//! not one it joins: readiness and requests answer 503 within the checkout timeout instead of
//! holding their callers forever, and once the database answers again so does the API.

mod common;

use common::spawn_app_with;
use common::Customers as _;
use serde_json::json;
use std::time::Duration;
use test_support::{stall_proxy::StallProxy, TestEnv};

/// Far above the 500 ms checkout timeout below, far below "forever".
const ANSWER_WITHIN: Duration = Duration::from_secs(10);

#[tokio::test]
async fn readiness_and_writes_answer_503_while_the_database_hangs_and_recover_after() {
    let database = TestEnv::get().fresh_database().await;
    let (proxy, through) = StallProxy::in_front_of(&database).await;
    let app = spawn_app_with(through, &["--db-checkout-timeout", "500"]).await;
    let ready = app.url("/health/ready");
    assert_eq!(app.client.get(&ready).send().await.unwrap().status(), 200);

    proxy.stall();
    let answer = tokio::time::timeout(ANSWER_WITHIN, app.client.get(&ready).send())
        .await
        .expect("readiness answers while the database hangs")
        .unwrap();
    assert_eq!(answer.status(), 503);
    // A pooled connection idle for over a second is pinged before it is handed out, so the
    // write below meets the hang at checkout, the way a request after a quiet spell would.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let body = json!({"name": "Ada", "email": "ada@example.com"});
    let write = app.post_customer(&body);
    let answer = tokio::time::timeout(ANSWER_WITHIN, write)
        .await
        .expect("a write answers while the database hangs");
    assert_eq!(answer.status(), 503);
    let problem: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(problem["error"], "unavailable", "{problem}");

    proxy.resume();
    test_support::eventually("readiness after the hang", ANSWER_WITHIN, || async {
        let status = app.client.get(&ready).send().await.ok()?.status();
        (status == 200).then_some(())
    })
    .await;
    assert_eq!(
        app.written().await,
        (0, 0),
        "the refused write wrote nothing"
    );
}
