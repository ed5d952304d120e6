//! Snapshots of rows that have no events (loaded by SQL), taken while writers change the same
//! rows, and resumed after the API is killed mid-way. The behaviour every resource shares
//! (one `r` per live row, bad requests refused) is in the conformance suite.

mod common;

use common::{spawn_app_with, TestApp};
use futures::future::join_all;
use mongodb::bson::Document;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use test_support::{
    api::client_with_token,
    conformance::{snapshot_done, start_snapshot},
    mongo,
    process::RunningService,
    topic::{self, Record},
    TestEnv,
};

const WAIT: Duration = Duration::from_secs(180);
const ROWS: usize = 10_000;
const WRITERS: usize = 16;

/// Inserts `n` customers straight into the table, as a bulk load would: no API, no events.
async fn load_by_sql(database_url: &str, n: usize) -> Vec<String> {
    test_support::execute(
        database_url,
        &format!(
            "INSERT INTO customers (id, name, email, version, created_at, updated_at) \
             SELECT gen_random_uuid(), 'Loaded ' || i, 'loaded' || i || '@example.com', 1, now(), now() \
             FROM generate_series(1, {n}) AS i"
        ),
    )
    .await;
    assert_eq!(
        test_support::count(database_url, "SELECT count(*) AS n FROM outbox").await,
        0,
        "a bulk load has no events"
    );
    test_support::text(
        database_url,
        "SELECT string_agg(id::text, ',' ORDER BY id) AS s FROM customers",
    )
    .await
    .split(',')
    .map(str::to_owned)
    .collect()
}

/// Writer `w` of [`WRITERS`]: renames (once or twice) or deletes its share of `ids` until the
/// snapshot is `done`. Returns how many events its writes recorded.
async fn write_until_done(app: &TestApp, ids: &[String], w: usize, done: &AtomicBool) -> usize {
    let mut events = 0;
    for (k, id) in ids.iter().skip(w).step_by(WRITERS).enumerate() {
        if done.load(Ordering::Relaxed) && k >= 10 {
            break;
        }
        let url = app.url(&format!("/api/v1/customers/{id}"));
        if k % 4 == 3 {
            let response = app.client.delete(&url).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::NO_CONTENT);
            events += 1;
            continue;
        }
        for round in 0..=(k % 2) {
            let response = app
                .client
                .patch(&url)
                .json(&json!({"name": format!("Writer {w} round {round}")}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            events += 1;
        }
    }
    events
}

/// Per key, the versions in the order they first appear on the topic.
fn first_occurrences(records: &[Record]) -> HashMap<&str, Vec<i64>> {
    let mut seen: HashMap<&str, Vec<i64>> = HashMap::new();
    for record in records {
        let versions = seen.entry(record.key.as_str()).or_default();
        if !versions.contains(&record.event.version) {
            versions.push(record.event.version);
        }
    }
    seen
}

#[tokio::test]
async fn a_snapshot_under_sixteen_writers_brings_the_replica_to_the_table_in_version_order() {
    let env = TestEnv::get();
    let app = spawn_app_with(
        env.fresh_database().await,
        &["--snapshot-chunk-size", "250"],
    )
    .await;
    let ids = load_by_sql(&app.database_url, ROWS).await;
    let prefix = test_support::unique("snap") + ".";
    let mongo_uri = mongo::shared_uri();
    let replica_db = test_support::unique("replica").replace('-', "_");
    let _relay = RunningService::relay(&app.database_url, &env.bootstrap, &prefix, &[]).await;
    let _replicator =
        RunningService::replicator(&env.bootstrap, &prefix, &mongo_uri, &replica_db, &[]).await;

    let location = start_snapshot(&app, &common::CUSTOMERS, &json!({})).await;
    let done = AtomicBool::new(false);
    let watch = async {
        let snapshot = snapshot_done(&app, &location).await;
        done.store(true, Ordering::Relaxed);
        snapshot
    };
    let writers = join_all((0..WRITERS).map(|w| write_until_done(&app, &ids, w, &done)));
    let (snapshot, written) = tokio::join!(watch, writers);
    let written: usize = written.iter().sum();
    let reads = snapshot["rows_done"].as_u64().unwrap() as usize;
    assert_eq!(snapshot["rows_total"], ROWS);
    assert!(
        reads <= ROWS && reads > ROWS / 2,
        "rows deleted before their chunk are skipped, no row twice: {snapshot}"
    );
    eprintln!("{reads} rows snapshotted while {WRITERS} writers recorded {written} events");

    let replica = mongo::client(&mongo_uri)
        .await
        .database(&replica_db)
        .collection::<Document>("customers");
    common::assert_replica_equals_source(&app.database_url, &replica, WAIT).await;

    let topic = format!("{prefix}customers");
    let records = topic::read_until(&env.bootstrap, &topic, WAIT, |records| {
        records.len() >= reads + written
    })
    .await;
    let source = common::live_customers(&app.database_url).await;
    let first = first_occurrences(&records);
    for (key, versions) in &first {
        assert!(
            versions.windows(2).all(|w| w[0] < w[1]),
            "customer {key}: versions in topic order {versions:?}"
        );
        if let Some((_, version)) = source.get(*key) {
            assert_eq!(
                versions.last(),
                Some(version),
                "customer {key}: ends current"
            );
        }
    }
    let mut read_events: HashMap<&str, Vec<uuid::Uuid>> = HashMap::new();
    for record in records.iter().filter(|r| r.event.op == events::Op::Read) {
        let ids = read_events.entry(record.key.as_str()).or_default();
        if !ids.contains(&record.event.id) {
            ids.push(record.event.id);
        }
    }
    assert!(
        read_events.values().all(|ids| ids.len() == 1),
        "no row is snapshotted twice"
    );
    assert_eq!(read_events.len(), reads);
    assert!(
        source.keys().all(|id| first.contains_key(id.as_str())),
        "every live row, written or not, is on the topic"
    );
}

/// customer-api as a process of its own (so that it can be killed), slowed to one chunk of 100
/// rows every 20 ms.
async fn api_process(database_url: &str) -> RunningService {
    RunningService::start(
        "customer-api",
        "CUSTOMER_API_ADDR",
        &[
            ("CUSTOMER_DATABASE_URL", database_url.to_owned()),
            ("JWT_SECRET", test_support::TEST_JWT_SECRET.to_owned()),
            ("SNAPSHOT_CHUNK_SIZE", "100".to_owned()),
            ("SNAPSHOT_CHUNK_PAUSE_MS", "20".to_owned()),
        ],
    )
    .await
}

async fn snapshot_of(client: &Client, api: &RunningService, location: &str) -> Value {
    let response = client
        .get(format!("{}{location}", api.http))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// Pauses or resumes the snapshot at `location`, asserting 200; returns it.
async fn steer(client: &Client, api: &RunningService, location: &str, action: &str) -> Value {
    let response = client
        .post(format!("{}{location}/{action}", api.http))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{action}");
    response.json().await.unwrap()
}

async fn read_events(database_url: &str) -> (i64, i64) {
    (
        test_support::count(
            database_url,
            "SELECT count(*) AS n FROM outbox WHERE event_type = 'customer.read'",
        )
        .await,
        test_support::count(
            database_url,
            "SELECT count(DISTINCT aggregate_id) AS n FROM outbox WHERE event_type = 'customer.read'",
        )
        .await,
    )
}

#[tokio::test]
async fn a_killed_api_resumes_its_snapshot_and_emits_no_finished_chunk_twice() {
    let env = TestEnv::get();
    let database_url = env.fresh_database().await;
    let mut api = api_process(&database_url).await;
    load_by_sql(&database_url, ROWS).await;
    let client = client_with_token(&test_support::admin_token());

    let response = client
        .post(format!("{}/api/v1/customers/snapshots", api.http))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    test_support::eventually("ten chunks done", WAIT, || async {
        let snapshot = snapshot_of(&client, &api, &location).await;
        (snapshot["chunks_done"].as_i64()? >= 10).then_some(())
    })
    .await;
    api.process.kill9().await;

    // What the killed process committed: whole chunks, each with its events.
    let id = location.rsplit('/').next().unwrap();
    let rows_done = test_support::count(
        &database_url,
        &format!("SELECT rows_done AS n FROM snapshots WHERE id = '{id}'"),
    )
    .await;
    let chunks_done = test_support::count(
        &database_url,
        &format!("SELECT chunks_done AS n FROM snapshots WHERE id = '{id}'"),
    )
    .await;
    assert!(rows_done < ROWS as i64, "killed mid-snapshot ({rows_done})");
    assert_eq!(rows_done, chunks_done * 100, "only whole chunks");
    assert_eq!(read_events(&database_url).await, (rows_done, rows_done));

    let api = api_process(&database_url).await;
    // Paused, it emits nothing more; resumed, it finishes.
    let paused = steer(&client, &api, &location, "pause").await;
    assert_eq!(paused["state"], "paused", "{paused}");
    let at_pause = read_events(&database_url).await;
    assert_eq!(at_pause.0, paused["rows_done"].as_i64().unwrap());
    tokio::time::sleep(Duration::from_millis(500)).await; // 25 chunk intervals: a negative check
    assert_eq!(
        read_events(&database_url).await,
        at_pause,
        "nothing while paused"
    );
    let resumed = steer(&client, &api, &location, "resume").await;
    assert_eq!(resumed["state"], "running", "{resumed}");

    let snapshot = test_support::eventually("the resumed snapshot to finish", WAIT, || async {
        let snapshot = snapshot_of(&client, &api, &location).await;
        (snapshot["state"] == "done").then_some(snapshot)
    })
    .await;
    assert_eq!(snapshot["rows_done"], ROWS);
    assert_eq!(snapshot["chunks_done"], ROWS / 100, "no chunk ran twice");
    assert_eq!(
        read_events(&database_url).await,
        (ROWS as i64, ROWS as i64),
        "every row exactly once across the kill"
    );
}

#[tokio::test]
async fn the_snapshot_script_starts_one_and_shows_its_progress_to_the_end() {
    let env = TestEnv::get();
    let app = spawn_app_with(env.fresh_database().await, &["--snapshot-chunk-size", "10"]).await;
    load_by_sql(&app.database_url, 95).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/snapshot.sh");
    let run = |args: &[&str]| {
        tokio::process::Command::new("bash")
            .arg(script)
            .args(args)
            .env("GATEWAY_URL", &app.base)
            .env("TOKEN", test_support::admin_token())
            .output()
    };
    let output = run(&["customers", "--chunk-size", "20"]).await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("95 live rows in scope"), "{stdout}");
    assert!(
        stdout.contains("100%  95/95 rows  done"),
        "the bar ends full: {stdout}"
    );
    assert!(
        stdout.contains("done: 95 rows emitted as r events"),
        "{stdout}"
    );
    assert_eq!(read_events(&app.database_url).await, (95, 95));

    let refused = run(&["customers", "--where", "genre=drama"]).await.unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("422") && stderr.contains("filter.genre"),
        "{stderr}"
    );
}
