//! The live event feed: events published to the platform's topics reach every watcher of
//! `/api/v1/events/stream` as server-sent events with their diff; the stream wants a valid
//! token; and with Kafka down the gateway serves everything else and says so in `/health`.

mod common;

use common::{fake_upstream, problem, spawn_gateway, GatewayOptions, TestGateway};
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;
use test_support::{fixtures::Customer, TestEnv};
use tokio::time::Instant;

/// One server-sent event: its `event:` name and its `data:` as JSON.
#[derive(Debug)]
struct Sse {
    event: String,
    data: Value,
}

/// An open event stream, read message by message.
struct EventStream {
    body: futures::stream::BoxStream<'static, reqwest::Result<axum::body::Bytes>>,
    buffer: String,
}

impl EventStream {
    async fn open(gateway: &TestGateway, token: &str) -> Self {
        let response = gateway
            .client
            .get(gateway.url("/api/v1/events/stream"))
            .query(&[("token", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        Self {
            body: response.bytes_stream().boxed(),
            buffer: String::new(),
        }
    }

    /// The next message (comments skipped), failing the test after `timeout`.
    async fn next(&mut self, timeout: Duration) -> Sse {
        let deadline = Instant::now() + timeout;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = "message".to_owned();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(name) = line.strip_prefix("event:") {
                        event = name.trim().to_owned();
                    } else if let Some(chunk) = line.strip_prefix("data:") {
                        data.push_str(chunk.trim_start());
                    }
                }
                if !data.is_empty() {
                    let data = serde_json::from_str(&data).expect("JSON data");
                    return Sse { event, data };
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.body.next())
                .await
                .unwrap_or_else(|_| panic!("no event within {timeout:?}"))
                .expect("the stream stays open")
                .expect("reading the stream");
            self.buffer
                .push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
        }
    }

    /// Waits for the server to end the stream, failing the test after `timeout`.
    async fn ended(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.body.next()).await {
                Err(_) => panic!("the stream was still open after {timeout:?}"),
                Ok(None) | Ok(Some(Err(_))) => return,
                Ok(Some(Ok(_))) => continue, // keep-alive comments, events
            }
        }
    }

    /// The next `change` message.
    async fn next_change(&mut self) -> Value {
        loop {
            let message = self.next(Duration::from_secs(30)).await;
            if message.event == "change" {
                return message.data;
            }
            assert_ne!(message.event, "lagged", "{message:?}");
        }
    }
}

/// `/health` as a signed-in caller sees it (with the feed's details).
async fn health(gateway: &TestGateway) -> (StatusCode, Value) {
    let response = gateway
        .client
        .get(gateway.url("/health"))
        .bearer_auth(common::sign(&common::claims(web::auth::Role::Reader)))
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

/// Waits until `/health` reports the feed positioned on its topics.
async fn wait_for_feed(gateway: &TestGateway) {
    test_support::eventually(
        "the event feed to be UP",
        Duration::from_secs(60),
        || async {
            let (_, health) = health(gateway).await;
            (health["services"]["event-feed"]["status"] == "UP").then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn every_watcher_sees_each_change_with_its_diff() {
    let env = TestEnv::get();
    let prefix = format!("{}.", test_support::unique("live"));
    let gateway = spawn_gateway(GatewayOptions {
        event_feed: Some((env.bootstrap.clone(), prefix.clone())),
        ..GatewayOptions::nothing_up()
    })
    .await;
    wait_for_feed(&gateway).await;
    let token = gateway.admin_token().await;
    let mut first = EventStream::open(&gateway, &token).await;
    let mut second = EventStream::open(&gateway, &token).await;
    for stream in [&mut first, &mut second] {
        let ready = stream.next(Duration::from_secs(10)).await;
        assert_eq!(ready.event, "ready");
        assert_eq!(
            ready.data["topics"],
            json!([format!("{prefix}customers"), format!("{prefix}orders")])
        );
    }

    let ada = Customer::new("Ada Lovelace");
    let (renamed, ada_v2) = ada.updated(|c| c.name = "Ada King".to_owned());
    let topic = format!("{prefix}customers");
    test_support::topic::produce_events(
        &env.bootstrap,
        &topic,
        &[ada.created(), renamed, ada_v2.deleted()],
    )
    .await;

    for stream in [&mut first, &mut second] {
        let created = stream.next_change().await;
        assert_eq!(created["op"], "c", "{created}");
        assert_eq!(created["topic"], topic.as_str());
        assert_eq!(created["key"], ada.id.to_string());
        assert_eq!(created["aggregate_id"], ada.id.to_string());
        assert_eq!(created["type"], "customer.created");
        assert_eq!(created["version"], 1);
        assert_eq!(created["before"], Value::Null);
        assert_eq!(created["after"]["email"], ada.email.as_str());
        assert_eq!(
            created["diff"]["name"],
            json!([null, "Ada Lovelace"]),
            "{created}"
        );

        let updated = stream.next_change().await;
        assert_eq!(updated["op"], "u", "{updated}");
        assert_eq!(updated["version"], 2);
        assert_eq!(updated["diff"]["name"], json!(["Ada Lovelace", "Ada King"]));
        assert_eq!(updated["diff"]["version"], json!([1, 2]));
        assert!(updated["diff"].get("email").is_none(), "{updated}");

        let deleted = stream.next_change().await;
        assert_eq!(deleted["op"], "d", "{deleted}");
        assert_eq!(deleted["after"], Value::Null);
        assert_eq!(deleted["diff"]["name"], json!(["Ada King", null]));
    }
    let (_, health) = health(&gateway).await;
    assert_eq!(health["services"]["event-feed"]["watchers"], 2, "{health}");
}

#[tokio::test]
async fn the_stream_wants_a_valid_token_in_the_query_or_the_header() {
    let gateway = spawn_gateway(GatewayOptions::nothing_up()).await;
    let url = gateway.url("/api/v1/events/stream");
    let anonymous = gateway.client.get(&url).send().await.unwrap();
    let (status, challenge, _) = problem(anonymous).await;
    assert_eq!(status, 401);
    assert!(challenge.unwrap().starts_with("Bearer"));

    let forged = gateway
        .client
        .get(&url)
        .query(&[("token", "not.a.token")])
        .send()
        .await
        .unwrap();
    assert_eq!(problem(forged).await.0, 401);

    let mut expired = common::claims(web::auth::Role::Reader);
    expired.iat -= 7200;
    expired.exp -= 7200;
    let expired = gateway
        .client
        .get(&url)
        .query(&[("token", common::sign(&expired))])
        .send()
        .await
        .unwrap();
    let (status, _, body) = problem(expired).await;
    assert_eq!(status, 401);
    assert!(
        body["message"].as_str().unwrap().contains("expired"),
        "{body}"
    );

    // A reader may watch; non-browser clients may use the header.
    let reader = common::sign(&common::claims(web::auth::Role::Reader));
    let by_header = gateway
        .client
        .get(&url)
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_eq!(by_header.status(), StatusCode::OK);
    let mut by_query = EventStream::open(&gateway, &reader).await;
    assert_eq!(by_query.next(Duration::from_secs(10)).await.event, "ready");
}

#[tokio::test]
async fn with_kafka_down_the_gateway_serves_everything_else_and_health_names_the_feed() {
    let (upstream, _server) = fake_upstream().await;
    let gateway = spawn_gateway(GatewayOptions {
        customer_api_url: upstream.clone(),
        movie_api_url: upstream.clone(),
        order_api_url: upstream,
        event_feed: Some((
            common::dead_kafka().to_owned(),
            test_support::unique("down"),
        )),
        ..GatewayOptions::nothing_up()
    })
    .await;
    let token = gateway.admin_token().await;
    let proxied = gateway
        .client
        .get(gateway.url("/api/v1/customers/echo"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(proxied.status(), StatusCode::OK);

    let (status, health) = health(&gateway).await;
    assert_eq!(status, StatusCode::OK, "the feed is optional: {health}");
    assert_eq!(health["status"], "UP");
    let feed = &health["services"]["event-feed"];
    assert_eq!(feed["status"], "DOWN", "{health}");
    assert!(feed["reason"].is_string(), "{health}");

    // Watching still works; events simply begin once Kafka is back.
    let mut stream = EventStream::open(&gateway, &token).await;
    assert_eq!(stream.next(Duration::from_secs(10)).await.event, "ready");
}

#[tokio::test]
async fn open_streams_end_when_the_gateway_shuts_down() {
    let gateway = spawn_gateway(GatewayOptions::nothing_up()).await;
    let token = gateway.admin_token().await;
    let mut stream = EventStream::open(&gateway, &token).await;
    assert_eq!(stream.next(Duration::from_secs(10)).await.event, "ready");
    gateway.shut_down();
    // Graceful shutdown waits for open connections: a stream that never ended would hang it.
    stream.ended(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn a_stream_ends_when_its_token_expires() {
    let gateway = spawn_gateway(GatewayOptions::nothing_up()).await;
    let short_lived =
        web::auth::Claims::new("rita", web::auth::Role::Reader, Duration::from_secs(2));
    let mut stream = EventStream::open(&gateway, &common::sign(&short_lived)).await;
    assert_eq!(stream.next(Duration::from_secs(10)).await.event, "ready");
    stream.ended(Duration::from_secs(10)).await;
}
