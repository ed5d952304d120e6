//! The notifier's world for one test: its own database, its own topic prefix, customer events
//! produced the way the outbox relay would, and the notifier as a real child process.
#![allow(dead_code)]

use events::ChangeEvent;
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::time::Duration;
use test_support::{mail::MailCatcher, process::ServiceProcess, TestEnv};
use uuid::Uuid;

pub const WAIT: Duration = Duration::from_secs(60);

pub struct World {
    pub env: TestEnv,
    pub db: String,
    pub prefix: String,
    producer: FutureProducer,
}

impl World {
    pub async fn new(name: &str) -> Self {
        let env = TestEnv::get();
        let db = env.fresh_database().await;
        let prefix = test_support::unique(name) + ".";
        let kafka = kafka::KafkaArgs::new(&env.bootstrap);
        kafka
            .ensure_topics(&[
                &format!("{prefix}customers"),
                &format!("{prefix}order-executions"),
            ])
            .await
            .expect("creating the topics");
        let producer = kafka
            .idempotent_producer(Duration::from_secs(30), Duration::ZERO)
            .expect("creating a producer");
        Self {
            env,
            db,
            prefix,
            producer,
        }
    }

    pub fn topic(&self) -> String {
        format!("{}customers", self.prefix)
    }

    pub fn executions_topic(&self) -> String {
        format!("{}order-executions", self.prefix)
    }

    pub fn failed_topic(&self) -> String {
        format!("{}notifications.failed", self.prefix)
    }

    /// Starts a notifier reading this world's topic as consumer group `group` (made unique to
    /// this world: tests running side by side must not share a group).
    pub async fn notifier(
        &self,
        group: &str,
        mail: &MailCatcher,
        extra: &[(&str, String)],
    ) -> Notifier {
        self.notifier_with_smtp(group, mail.smtp_env(), extra).await
    }

    /// [`World::notifier`] mailing through `smtp` (e.g. a fault-injecting proxy's settings).
    pub async fn notifier_with_smtp(
        &self,
        group: &str,
        smtp: Vec<(&'static str, String)>,
        extra: &[(&str, String)],
    ) -> Notifier {
        let port = test_support::free_port();
        let mut envs = vec![
            ("NOTIFIER_ADDR", format!("127.0.0.1:{port}")),
            ("NOTIFIER_DATABASE_URL", self.db.clone()),
            ("KAFKA_BOOTSTRAP_SERVERS", self.env.bootstrap.clone()),
            ("TOPIC_PREFIX", self.prefix.clone()),
            ("NOTIFIER_GROUP", format!("{}{group}", self.prefix)),
            ("RUST_LOG", "info,librdkafka=warn,rdkafka=warn".to_owned()),
        ];
        envs.extend(smtp);
        envs.extend(extra.iter().cloned());
        let process = ServiceProcess::spawn("notifier", &envs, &self.env.runtime_dir);
        let http = format!("http://127.0.0.1:{port}");
        test_support::wait_until_ready(&format!("{http}/health/ready"), WAIT).await;
        Notifier { process, http }
    }

    /// Publishes `event` to the customers topic, keyed by its aggregate id.
    pub async fn produce(&self, event: &ChangeEvent) {
        let payload = serde_json::to_vec(event).unwrap();
        self.produce_raw(&event.aggregate_id, &payload).await;
    }

    /// Publishes `event` to the order-executions topic, keyed by its aggregate id.
    pub async fn produce_execution(&self, event: &ChangeEvent) {
        let payload = serde_json::to_vec(event).unwrap();
        self.produce_raw_to(&self.executions_topic(), &event.aggregate_id, &payload)
            .await;
    }

    pub async fn produce_raw(&self, key: &str, payload: &[u8]) {
        self.produce_raw_to(&self.topic(), key, payload).await;
    }

    async fn produce_raw_to(&self, topic: &str, key: &str, payload: &[u8]) {
        self.producer
            .send(
                FutureRecord::to(topic).key(key).payload(payload),
                Duration::from_secs(30),
            )
            .await
            .map_err(|(e, _)| e)
            .unwrap_or_else(|e| panic!("producing to {topic}: {e}"));
    }

    /// The notifier's contact for `customer_id`: (email, version), `None` if it has none (never
    /// seen, deleted, or no address that can be mailed).
    pub async fn contact(&self, customer_id: Uuid) -> Option<(String, i64)> {
        use diesel::{
            sql_types::{BigInt, Text},
            QueryableByName,
        };
        use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            email: String,
            #[diesel(sql_type = BigInt)]
            version: i64,
        }
        let mut conn = AsyncPgConnection::establish(&self.db).await.unwrap();
        diesel::sql_query(format!(
            "SELECT email, version FROM customer_contacts \
             WHERE customer_id = '{customer_id}' AND email IS NOT NULL AND NOT deleted"
        ))
        .get_result::<Row>(&mut conn)
        .await
        .ok()
        .map(|r| (r.email, r.version))
    }

    /// The ledger's status for `event_id` (`None` if it has no row).
    pub async fn ledger_status(&self, event_id: Uuid) -> Option<String> {
        use diesel::{sql_types::Text, QueryableByName};
        use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            status: String,
        }
        let mut conn = AsyncPgConnection::establish(&self.db).await.unwrap();
        diesel::sql_query(format!(
            "SELECT status FROM sent_notifications WHERE event_id = '{event_id}'"
        ))
        .get_result::<Row>(&mut conn)
        .await
        .ok()
        .map(|r| r.status)
    }
}

pub struct Notifier {
    pub process: ServiceProcess,
    pub http: String,
}

impl Notifier {
    /// A counter or gauge from `/metrics` (0 when not reported yet).
    pub async fn metric(&self, name: &str) -> f64 {
        let Ok(response) = reqwest::get(format!("{}/metrics", self.http)).await else {
            return 0.0;
        };
        let text = response.text().await.unwrap_or_default();
        text.lines()
            .find_map(|line| {
                let (metric, value) = line.rsplit_once(' ')?;
                (metric == name).then(|| value.parse().ok()).flatten()
            })
            .unwrap_or(0.0)
    }

    pub async fn wait_for_metric(&self, name: &str, at_least: f64) {
        test_support::eventually(&format!("{name} >= {at_least}"), WAIT, || async {
            (self.metric(name).await >= at_least).then_some(())
        })
        .await
    }
}

/// The indented lines of a mail's text part: the details or changes it lists.
pub fn listed(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with("  "))
        .map(|l| l.trim().to_owned())
        .collect()
}
