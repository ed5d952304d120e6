//! A client that hangs up while its write waits inside the database transaction: the write
//! still runs to its end, so no connection is left idle in a transaction holding locks.

mod common;

use common::spawn_app;
use common::Customers as _;
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use serde_json::json;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn a_client_hanging_up_mid_write_leaves_no_transaction_open() {
    let app = spawn_app().await;
    // Hold the outbox so the API's transaction stops after its customer insert.
    let mut locker = AsyncPgConnection::establish(&app.database_url)
        .await
        .unwrap();
    locker
        .batch_execute("BEGIN; LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();

    let hung_up = app
        .client
        .post(app.url("/api/v1/customers"))
        .json(&json!({"name": "Impatient", "email": "gone@example.com", "phone": "+1 555-0100"}))
        .timeout(Duration::from_millis(500))
        .send()
        .await;
    assert!(
        hung_up.as_ref().is_err_and(|e| e.is_timeout()),
        "the request was meant to time out: {hung_up:?}"
    );
    locker.batch_execute("COMMIT").await.unwrap();

    test_support::eventually("the abandoned write to commit", WAIT, || async {
        (app.written().await == (1, 1)).then_some(())
    })
    .await;
    test_support::eventually("no session idle in a transaction", WAIT, || async {
        let open = test_support::count(
            &app.database_url,
            "SELECT count(*) AS n FROM pg_stat_activity \
             WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
        )
        .await;
        (open == 0).then_some(())
    })
    .await;
}
