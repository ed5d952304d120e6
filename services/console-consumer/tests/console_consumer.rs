//! The console consumer binary against a real broker: the flags a kafka-console-consumer user
//! types, and the lines they expect.

use std::process::Command;
use test_support::TestEnv;

async fn topic_with(env: &TestEnv, records: &[(&str, &str)]) -> String {
    let topic = test_support::unique("console");
    let records: Vec<(String, Vec<u8>)> = records
        .iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect();
    test_support::topic::produce(&env.bootstrap, &topic, &records).await;
    topic
}

fn consume(env: &TestEnv, topic: &str, extra: &[&str]) -> (Vec<String>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_console-consumer"))
        .args(["--bootstrap-server", &env.bootstrap, "--topic", topic])
        .args(extra)
        .output()
        .expect("running console-consumer");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    (lines, String::from_utf8_lossy(&output.stderr).into_owned())
}

#[tokio::test]
async fn prints_values_from_the_beginning_up_to_max_messages() {
    let env = TestEnv::get();
    let topic = topic_with(
        &env,
        &[
            ("a", r#"{"v":1}"#),
            ("b", r#"{"v":2}"#),
            ("a", r#"{"v":3}"#),
        ],
    )
    .await;
    let (lines, stderr) = consume(&env, &topic, &["--from-beginning", "--max-messages", "2"]);
    assert_eq!(lines, [r#"{"v":1}"#, r#"{"v":2}"#]);
    assert!(
        stderr.contains("Processed a total of 2 messages"),
        "{stderr}"
    );
}

#[tokio::test]
async fn prints_keys_when_asked_and_stops_after_the_timeout() {
    let env = TestEnv::get();
    let topic = topic_with(&env, &[("k1", "one"), ("k2", "two")]).await;
    let (lines, _) = consume(
        &env,
        &topic,
        &[
            "--from-beginning",
            "--timeout-ms",
            "3000",
            "--property",
            "print.key=true",
            "--property",
            "key.separator=:",
        ],
    );
    assert_eq!(lines, ["k1:one", "k2:two"]);
}

#[tokio::test]
async fn a_group_resumes_where_it_committed() {
    let env = TestEnv::get();
    let topic = topic_with(&env, &[("k", "first"), ("k", "second")]).await;
    let group = test_support::unique("group");
    let args = [
        "--from-beginning",
        "--group",
        &group,
        "--max-messages",
        "1",
        "--timeout-ms",
        "20000",
    ];
    let (first, _) = consume(&env, &topic, &args);
    let (second, _) = consume(&env, &topic, &args);
    assert_eq!(first, ["first"]);
    assert_eq!(
        second,
        ["second"],
        "the group's committed offset is honoured"
    );
}

#[tokio::test]
async fn avro_values_print_as_json_given_the_schema_registry() {
    use test_support::registry::SchemaRegistry;
    let env = TestEnv::get();
    let registry = SchemaRegistry::start().await;
    let topic = test_support::unique("console-avro");
    let schema_text = codec::schemas::for_topic("customers").unwrap().text;
    let id = registry
        .register(&format!("{topic}-value"), schema_text)
        .await;
    let event =
        serde_json::to_value(test_support::fixtures::Customer::new("Ada").created()).unwrap();
    let schema = apache_avro::Schema::parse_str(schema_text).unwrap();
    let mut value = vec![0];
    value.extend_from_slice(&id.to_be_bytes());
    value.extend(codec::avro::encode(&event, &schema).unwrap());
    test_support::topic::produce(&env.bootstrap, &topic, &[("k".into(), value)]).await;

    let property = format!("schema.registry.url={}", registry.url);
    let (lines, _) = consume(
        &env,
        &topic,
        &[
            "--from-beginning",
            "--max-messages",
            "1",
            "--property",
            &property,
        ],
    );
    assert_eq!(lines.len(), 1);
    let printed: serde_json::Value = serde_json::from_str(&lines[0]).expect("a JSON line");
    assert_eq!(printed["id"], event["id"]);
    assert_eq!(printed["type"], "customer.created");
    assert_eq!(printed["after"]["email"], event["after"]["email"]);
}
