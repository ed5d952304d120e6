//! Kafka client setup shared by every process, so that durability and ordering settings are
//! decided once.

pub mod consume;
pub mod dead_letters;
pub mod groups;
mod rebalance;

pub use rebalance::CommitOnRevoke;

use rdkafka::{
    admin::{AdminClient, AdminOptions, NewTopic, TopicReplication},
    client::DefaultClientContext,
    config::ClientConfig,
    consumer::StreamConsumer,
    producer::FutureProducer,
    types::RDKafkaErrorCode,
};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    #[error("creating the Kafka client: {0}")]
    Client(#[source] rdkafka::error::KafkaError),
    #[error("creating topic {topic}: {reason}")]
    CreateTopic { topic: String, reason: String },
    #[error("reading topic {topic}: {source}")]
    Inspect {
        topic: String,
        #[source]
        source: rdkafka::error::KafkaError,
    },
    #[error("re-driving the dead letters of {topic}: {reason}")]
    Redrive { topic: String, reason: String },
}

/// Broker connection options every Kafka-using binary flattens into its config.
#[derive(Debug, Clone, clap::Args)]
pub struct KafkaArgs {
    /// Comma-separated `host:port` list.
    #[arg(
        long,
        env = "KAFKA_BOOTSTRAP_SERVERS",
        default_value = "127.0.0.1:9092"
    )]
    pub bootstrap_servers: String,
    /// librdkafka `fetch.wait.max.ms`: how long the broker may hold a fetch open when no record
    /// is ready. Apache Kafka answers as soon as a record arrives, so this bounds only the
    /// empty fetches of an idle consumer, not how late it sees an event; Kafka's own 500 ms.
    #[arg(long, env = "KAFKA_FETCH_WAIT_MAX_MS", default_value_t = DEFAULT_FETCH_WAIT_MAX_MS)]
    pub fetch_wait_max_ms: u64,
    /// Partitions of each topic this process creates (a topic that exists keeps its own). One
    /// keeps a total order per topic; more spread the keys over a group's instances, each key
    /// staying on one partition.
    #[arg(long, env = "KAFKA_TOPIC_PARTITIONS", default_value_t = 1,
          value_parser = clap::value_parser!(i32).range(1..))]
    pub topic_partitions: i32,
}

const DEFAULT_FETCH_WAIT_MAX_MS: u64 = 500;

/// CreateTopics' "use the broker's `default.replication.factor`" (KIP-464).
const BROKER_DEFAULT_REPLICATION: i32 = -1;

impl KafkaArgs {
    pub fn new(bootstrap_servers: impl Into<String>) -> Self {
        Self {
            bootstrap_servers: bootstrap_servers.into(),
            fetch_wait_max_ms: DEFAULT_FETCH_WAIT_MAX_MS,
            topic_partitions: 1,
        }
    }

    /// The same settings, creating topics with `partitions` partitions.
    pub fn with_topic_partitions(mut self, partitions: i32) -> Self {
        self.topic_partitions = partitions;
        self
    }

    pub(crate) fn base(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.bootstrap_servers);
        config
    }

    /// Every producer partitions a keyed message as Java's clients do (murmur2 of the key,
    /// positive, modulo the partition count), so the events of one aggregate land on the same
    /// partition whoever produces them: this relay, Kafka's own tools, a Java service.
    /// librdkafka's default (`consistent_random`, CRC32) would put them elsewhere.
    fn producer_base(&self) -> ClientConfig {
        let mut config = self.base();
        config.set("partitioner", "murmur2_random");
        config
    }

    /// A producer that never reorders or duplicates within a partition on retry
    /// (`enable.idempotence`), and reports success only once every in-sync replica has the
    /// message (`acks=all`). `delivery_timeout` bounds how long a send may wait for a broker
    /// that is down before the caller sees the failure and backs off.
    pub fn idempotent_producer(
        &self,
        delivery_timeout: Duration,
        linger: Duration,
    ) -> Result<FutureProducer, KafkaError> {
        self.producer_base()
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set(
                "message.timeout.ms",
                delivery_timeout.as_millis().to_string(),
            )
            .set("linger.ms", linger.as_millis().to_string())
            .set("compression.type", "none")
            .create()
            .map_err(KafkaError::Client)
    }

    /// The outbox relay's producer: idempotent with `acks=all` like
    /// [`KafkaArgs::idempotent_producer`], and never leaving a gap in a partition, so that a
    /// failure can only cut the published sequence short, never punch a hole in it:
    /// - `enable.gapless.guarantee`: an error that would let a later message through after an
    ///   earlier one failed stops the producer (a fatal error) instead;
    /// - no librdkafka message timeout (`message.timeout.ms=0`), since a message expiring in the
    ///   queue is the one gap the guarantee does not cover. The caller bounds the wait for an
    ///   acknowledgement itself and, when it runs out, drops the producer, which purges every
    ///   message not yet sent; what was sent is a prefix, by the broker's sequence numbers.
    pub fn ordered_producer(&self, linger: Duration) -> Result<FutureProducer, KafkaError> {
        self.producer_base()
            .set("enable.idempotence", "true")
            .set("enable.gapless.guarantee", "true")
            .set("acks", "all")
            .set("message.timeout.ms", "0")
            .set("linger.ms", linger.as_millis().to_string())
            .set("compression.type", "none")
            .create()
            .map_err(KafkaError::Client)
    }

    /// A consumer with manual commits. The 6 s session timeout (the broker's minimum) hands a
    /// killed consumer's partitions to a standby in seconds instead of librdkafka's 45 s.
    pub fn consumer(
        &self,
        group_id: &str,
        from_beginning: bool,
    ) -> Result<StreamConsumer, KafkaError> {
        self.consumer_config(group_id, from_beginning)
            .create()
            .map_err(KafkaError::Client)
    }

    /// A member of a consumer group that shares its topics' partitions with the group's other
    /// instances, for the consume loop. Cooperative-sticky assignment moves only the partitions
    /// that change hands, so a joining or leaving instance does not stop the others; `context`
    /// commits what was applied on a partition before it moves. Nothing is committed from
    /// librdkafka's own offset store (`enable.auto.offset.store=false`): a message handed to the
    /// loop is not yet applied, so only the loop says what may be committed.
    pub fn group_consumer(
        &self,
        group_id: &str,
        context: CommitOnRevoke,
    ) -> Result<StreamConsumer<CommitOnRevoke>, KafkaError> {
        self.consumer_config(group_id, true)
            .set("partition.assignment.strategy", "cooperative-sticky")
            .set("enable.auto.offset.store", "false")
            .create_with_context(context)
            .map_err(KafkaError::Client)
    }

    fn consumer_config(&self, group_id: &str, from_beginning: bool) -> ClientConfig {
        let mut config = self.base();
        config
            .set("group.id", group_id)
            .set("enable.auto.commit", "false")
            .set(
                "auto.offset.reset",
                if from_beginning { "earliest" } else { "latest" },
            )
            .set("session.timeout.ms", "6000")
            .set("heartbeat.interval.ms", "1000")
            .set("enable.partition.eof", "false")
            .set("fetch.wait.max.ms", self.fetch_wait_max_ms.to_string());
        config
    }

    /// How many records `topic` holds (high minus low watermark, over its partitions), or
    /// `None` when there is no such topic. Blocking calls, run off the async threads.
    pub async fn records_held(&self, topic: &str) -> Result<Option<i64>, KafkaError> {
        use rdkafka::consumer::{BaseConsumer, Consumer};
        const TIMEOUT: Duration = Duration::from_secs(10);
        let consumer: BaseConsumer = self.base().create().map_err(KafkaError::Client)?;
        let topic = topic.to_owned();
        let inspect = move || {
            let Some(partitions) = partitions(&consumer, &topic, TIMEOUT)? else {
                return Ok(None);
            };
            let mut held = 0;
            for partition in partitions {
                let (low, high) = consumer
                    .fetch_watermarks(&topic, partition, TIMEOUT)
                    .map_err(|source| KafkaError::Inspect {
                        topic: topic.clone(),
                        source,
                    })?;
                held += high - low;
            }
            Ok(Some(held))
        };
        tokio::task::spawn_blocking(inspect)
            .await
            .expect("the topic inspection does not panic")
    }

    /// Creates each missing topic with `topic_partitions` partitions (`KAFKA_TOPIC_PARTITIONS`,
    /// default 1). One partition per topic means one total order per topic; with more, the
    /// order that holds is per key, which is what the platform's guarantees need. The replication
    /// factor and `min.insync.replicas` are the cluster's defaults (3 and 2 on the three-node
    /// cluster, 1 on one node), so the same binary is right on either.
    pub async fn ensure_topics(&self, topics: &[&str]) -> Result<(), KafkaError> {
        let admin: AdminClient<DefaultClientContext> =
            self.base().create().map_err(KafkaError::Client)?;
        let new_topics: Vec<NewTopic> = topics
            .iter()
            .map(|t| {
                NewTopic::new(
                    t,
                    self.topic_partitions,
                    TopicReplication::Fixed(BROKER_DEFAULT_REPLICATION),
                )
            })
            .collect();
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
        let results = admin
            .create_topics(new_topics.iter(), &options)
            .await
            .map_err(KafkaError::Client)?;
        for result in results {
            match result {
                Ok(topic) => tracing::info!(topic, "created topic"),
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((topic, code)) => {
                    return Err(KafkaError::CreateTopic {
                        topic,
                        reason: code.to_string(),
                    })
                }
            }
        }
        Ok(())
    }
}

/// The partition ids of `topic`, or `None` when there is no such topic. A blocking call.
fn partitions(
    consumer: &impl rdkafka::consumer::Consumer,
    topic: &str,
    timeout: Duration,
) -> Result<Option<Vec<i32>>, KafkaError> {
    let failed = |source| KafkaError::Inspect {
        topic: topic.to_owned(),
        source,
    };
    let metadata = consumer
        .fetch_metadata(Some(topic), timeout)
        .map_err(failed)?;
    let Some(found) = metadata.topics().iter().find(|t| t.name() == topic) else {
        return Ok(None);
    };
    match found.error() {
        None => Ok(Some(found.partitions().iter().map(|p| p.id()).collect())),
        Some(e) if RDKafkaErrorCode::from(e) == RDKafkaErrorCode::UnknownTopicOrPartition => {
            Ok(None)
        }
        Some(e) => Err(failed(rdkafka::error::KafkaError::MetadataFetch(
            RDKafkaErrorCode::from(e),
        ))),
    }
}
