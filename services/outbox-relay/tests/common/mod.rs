//! The relay's test world: a fresh outbox database, a topic prefix, the broker to publish to,
//! and the checks every relay test makes on what reached the topic.
#![allow(dead_code)]

use diesel_async::{AsyncConnection, AsyncPgConnection};
use events::Op;
use outbox::Change;
use serde_json::json;
use std::{collections::HashMap, time::Duration};
use test_support::{process::RunningService, topic, TestEnv};
use uuid::Uuid;

pub const WAIT: Duration = Duration::from_secs(90);

/// How the relay under test finds events (`RELAY_CAPTURE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capture {
    Poll,
    Wal,
}

impl Capture {
    pub fn name(self) -> &'static str {
        match self {
            Capture::Poll => "poll",
            Capture::Wal => "wal",
        }
    }
}

/// Runs each named `async fn(Capture)` as two tests, `polling::<name>` and
/// `from_the_wal::<name>`: the relay's guarantees hold in both capture modes.
#[macro_export]
macro_rules! in_both_capture_modes {
    ($($case:ident),* $(,)?) => {
        mod polling {
            $(#[tokio::test]
            async fn $case() {
                super::$case(super::common::Capture::Poll).await
            })*
        }
        mod from_the_wal {
            $(#[tokio::test]
            async fn $case() {
                super::$case(super::common::Capture::Wal).await
            })*
        }
    };
}

pub struct World {
    pub env: TestEnv,
    pub capture: Capture,
    pub db: String,
    pub prefix: String,
    /// The shared test broker, unless the test publishes to one of its own.
    pub bootstrap: String,
}

impl World {
    pub async fn new(name: &str, capture: Capture) -> Self {
        let env = TestEnv::get();
        let bootstrap = env.bootstrap.clone();
        let db = env.fresh_database().await;
        runtime::db::migrate(&db, &[outbox::MIGRATIONS])
            .await
            .expect("migrating the outbox");
        Self {
            env,
            capture,
            db,
            prefix: test_support::unique(name) + ".",
            bootstrap,
        }
    }

    /// The same world publishing to another broker (one the test can stall or kill).
    pub fn on_broker(mut self, bootstrap: String) -> Self {
        self.bootstrap = bootstrap;
        self
    }

    pub fn topic(&self) -> String {
        format!("{}widgets", self.prefix)
    }

    /// A relay of this world's outbox, in its capture mode (`extra` adds or overrides settings).
    pub async fn relay(&self, extra: &[(&str, String)]) -> RunningService {
        let mut envs = vec![("RELAY_CAPTURE", self.capture.name().to_owned())];
        envs.extend(extra.iter().cloned());
        RunningService::relay(&self.db, &self.bootstrap, &self.prefix, &envs).await
    }

    /// Commits `count` versions of each key, one transaction per event; returns the event ids.
    pub async fn write(
        &self,
        keys: &[String],
        versions: std::ops::RangeInclusive<i64>,
    ) -> Vec<Uuid> {
        let mut conn = AsyncPgConnection::establish(&self.db).await.unwrap();
        let mut ids = Vec::new();
        for version in versions {
            for key in keys {
                let event = conn
                    .transaction(async |conn| {
                        outbox::record(conn, widget_change(key, version)).await
                    })
                    .await
                    .expect("recording an event");
                ids.push(event.id);
            }
        }
        ids
    }

    pub async fn unpublished(&self) -> i64 {
        test_support::count(
            &self.db,
            "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL",
        )
        .await
    }
}

pub fn widget_change(key: &str, version: i64) -> Change {
    Change {
        service: "widget-test",
        table: "widgets",
        topic: "widgets",
        aggregate_type: "widget",
        aggregate_id: key.to_owned(),
        op: if version == 1 { Op::Create } else { Op::Update },
        version,
        before: (version > 1).then(|| json!({"id": key, "version": version - 1})),
        after: Some(json!({"id": key, "version": version})),
    }
}

pub fn keys(n: usize) -> Vec<String> {
    (0..n).map(|_| Uuid::new_v4().to_string()).collect()
}

/// Reads the topic until every id in `ids` has arrived; returns the records in topic order.
pub async fn read_all(world: &World, ids: &[Uuid]) -> Vec<topic::Record> {
    topic::read_until(&world.bootstrap, &world.topic(), WAIT, |records| {
        let seen: std::collections::HashSet<Uuid> = records.iter().map(|r| r.event.id).collect();
        ids.iter().all(|id| seen.contains(id))
    })
    .await
}

/// What a version-guarded consumer applies: per key, each event newer than the last applied.
/// Redeliveries (at-least-once) are skipped; a gap or a reordering would show as a missing or
/// out-of-order version.
pub fn applied_versions(records: &[topic::Record]) -> HashMap<String, Vec<i64>> {
    let mut applied: HashMap<String, Vec<i64>> = HashMap::new();
    for record in records {
        let versions = applied.entry(record.key.clone()).or_default();
        if versions
            .last()
            .is_none_or(|last| record.event.version > *last)
        {
            versions.push(record.event.version);
        }
    }
    applied
}

pub fn assert_complete_and_ordered(records: &[topic::Record], keys: &[String], last_version: i64) {
    let applied = applied_versions(records);
    for key in keys {
        assert_eq!(
            applied[key],
            (1..=last_version).collect::<Vec<_>>(),
            "key {key}"
        );
    }
    for record in records {
        assert_eq!(
            record.key, record.event.aggregate_id,
            "the Kafka key is the aggregate id"
        );
    }
}
