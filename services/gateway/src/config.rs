//! gateway configuration: flags, each with an environment variable and a default, and the
//! `create-user` subcommand.

use std::{net::SocketAddr, time::Duration};
use web::auth::{JwtSecret, Role};

#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "gateway",
    about = "The platform's front door: routes /api/v1/* to the APIs, issues JWTs at /api/v1/auth/login"
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Creates a user in the gateway's database and exits. The password is read from
    /// NEW_USER_PASSWORD if set, else from the first line of standard input.
    CreateUser {
        #[arg(long)]
        username: String,
        #[arg(long, value_enum, default_value_t = Role::Reader)]
        role: Role,
    },
}

#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "GATEWAY_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// PostgreSQL URL of the gateway's own database (users); migrations run at start.
    #[arg(
        long,
        env = "GATEWAY_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5433/gateway"
    )]
    pub database_url: String,
    /// Where /api/v1/customers… goes.
    #[arg(
        long,
        env = "CUSTOMER_API_URL",
        default_value = "http://127.0.0.1:8001"
    )]
    pub customer_api_url: String,
    /// Where /api/v1/movies…, /api/v1/casts… and /api/v1/genres go.
    #[arg(long, env = "MOVIE_API_URL", default_value = "http://127.0.0.1:8002")]
    pub movie_api_url: String,
    /// Where /api/v1/orders… goes.
    #[arg(long, env = "ORDER_API_URL", default_value = "http://127.0.0.1:8003")]
    pub order_api_url: String,
    /// How long an upstream may take to answer (until its response headers) before 504.
    #[arg(long, env = "GATEWAY_UPSTREAM_TIMEOUT_MS", default_value_t = 30_000)]
    pub upstream_timeout_ms: u64,
    /// HS256 secret the tokens are signed with; the APIs verify with the same one. Required.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<JwtSecret>,
    /// Lifetime of an issued token, in seconds.
    #[arg(long, env = "JWT_TTL_SECS", default_value_t = 3600)]
    pub jwt_ttl_secs: u64,
    /// Login attempts allowed per account from one client address and minute (burst of the same
    /// size); three times as many per account from everywhere.
    #[arg(long, env = "LOGIN_RATE_PER_MIN", default_value_t = 10)]
    pub login_rate_per_min: u32,
    /// Live event streams open at once, in all (each holds a connection and a feed receiver).
    #[arg(long, env = "GATEWAY_MAX_STREAMS", default_value_t = 256)]
    pub max_streams: usize,
    /// Live event streams one user may hold open at once.
    #[arg(long, env = "GATEWAY_MAX_STREAMS_PER_USER", default_value_t = 8)]
    pub max_streams_per_user: usize,
    /// The first admin, created at start when there are no users yet.
    #[arg(long, env = "ADMIN_USER", default_value = "admin")]
    pub admin_user: String,
    /// Its password; when unset, one is generated and printed once to standard output.
    #[arg(long, env = "ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// Kafka, for the console's live event feed (the gateway serves everything else without it).
    #[command(flatten)]
    pub kafka: kafka::KafkaArgs,
    /// Event topics the live feed shows; `off` turns the feed off.
    #[arg(
        long,
        env = "GATEWAY_EVENT_TOPICS",
        value_delimiter = ',',
        default_values_t = events::Topic::CHANGE_EVENTS.map(|t| t.name().to_owned())
    )]
    pub event_topics: Vec<String>,
    /// Prepended to every event topic name (like Debezium's `topic.prefix`).
    #[arg(long, env = "TOPIC_PREFIX", default_value = "")]
    pub topic_prefix: String,
    /// Confluent-compatible schema registry, for the writer schemas of Avro events.
    #[arg(long, env = "SCHEMA_REGISTRY_URL", default_value = codec::DEFAULT_REGISTRY_URL)]
    pub schema_registry_url: String,
    /// The consumers whose lag and dead letters the console shows.
    #[command(flatten)]
    pub consumers: ConsumerGroups,
    #[command(flatten)]
    pub pool: runtime::db::PoolArgs,
    #[command(flatten)]
    pub log: runtime::telemetry::LogArgs,
}

/// The platform's consumer groups, under the variables and defaults the consumers themselves
/// read, so one environment configures both.
#[derive(Debug, Clone, clap::Args)]
pub struct ConsumerGroups {
    #[arg(long, env = "REPLICATOR_GROUP", default_value = "replicator")]
    pub replicator_group: String,
    /// The topics the replicator reads (without `TOPIC_PREFIX`).
    #[arg(
        long,
        env = "REPLICATOR_TOPICS",
        value_delimiter = ',',
        default_values_t = events::Topic::CHANGE_EVENTS.map(|t| t.name().to_owned())
    )]
    pub replicator_topics: Vec<String>,
    #[arg(long, env = "NOTIFIER_GROUP", default_value = "notifier")]
    pub notifier_group: String,
    #[arg(long, env = "ORDER_PROCESSOR_GROUP", default_value = "order-processor")]
    pub order_processor_group: String,
    /// The group whose offsets in each `<topic>.dlq` mark the dead letters re-driven already.
    #[arg(long, env = "DLQ_REDRIVE_GROUP", default_value = "dlq-redrive")]
    pub redrive_group: String,
}

/// One consumer of the platform: its group and the topics it reads (full names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerGroup {
    pub consumer: &'static str,
    pub group: String,
    pub topics: Vec<String>,
}

impl ConsumerGroups {
    /// Every consumer with its topics, `prefix` in front of each.
    pub fn with_prefix(&self, prefix: &str) -> Vec<ConsumerGroup> {
        use events::Topic;
        let group = |consumer: &'static str, group: &str, topics: Vec<String>| ConsumerGroup {
            consumer,
            group: group.to_owned(),
            topics: topics.iter().map(|t| format!("{prefix}{t}")).collect(),
        };
        let named = |topics: &[Topic]| -> Vec<String> {
            topics.iter().map(|t| t.name().to_owned()).collect()
        };
        vec![
            group(
                "replicator",
                &self.replicator_group,
                self.replicator_topics.clone(),
            ),
            group(
                "notifier",
                &self.notifier_group,
                named(&[Topic::CUSTOMERS, Topic::ORDER_EXECUTIONS]),
            ),
            group(
                "order-processor",
                &self.order_processor_group,
                named(&[Topic::ORDERS]),
            ),
        ]
    }
}

impl Config {
    /// The platform's consumers, with their full topic names.
    pub fn consumer_groups(&self) -> Vec<ConsumerGroup> {
        self.consumers.with_prefix(&self.topic_prefix)
    }

    pub fn upstream_timeout(&self) -> Duration {
        Duration::from_millis(self.upstream_timeout_ms)
    }

    pub fn jwt_ttl(&self) -> Duration {
        Duration::from_secs(self.jwt_ttl_secs)
    }

    /// The full names (prefix included) of the topics the live feed reads; none when off.
    pub fn event_topics(&self) -> Vec<String> {
        self.event_topics
            .iter()
            .map(|t| t.trim())
            .filter(|t| !t.is_empty() && !t.eq_ignore_ascii_case("off"))
            .map(|t| format!("{}{t}", self.topic_prefix))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn defaults_match_the_platform_design() {
        let cli = Cli::try_parse_from(["gateway"]).unwrap();
        let config = cli.config;
        assert_eq!(config.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(config.customer_api_url, "http://127.0.0.1:8001");
        assert_eq!(config.movie_api_url, "http://127.0.0.1:8002");
        assert_eq!(config.order_api_url, "http://127.0.0.1:8003");
        assert_eq!(config.upstream_timeout_ms, 30_000);
        assert_eq!(config.jwt_ttl_secs, 3600);
        assert_eq!(config.login_rate_per_min, 10);
        assert_eq!(config.kafka.bootstrap_servers, "127.0.0.1:9092");
        assert_eq!(
            config.event_topics(),
            ["customers", "movies", "casts", "orders", "order-executions"]
        );
        assert!(cli.command.is_none());
        let groups = config.consumer_groups();
        let names: Vec<(&str, &str)> = groups
            .iter()
            .map(|g| (g.consumer, g.group.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("replicator", "replicator"),
                ("notifier", "notifier"),
                ("order-processor", "order-processor")
            ]
        );
        assert_eq!(groups[1].topics, ["customers", "order-executions"]);
        assert_eq!(groups[2].topics, ["orders"]);
        assert_eq!(config.consumers.redrive_group, "dlq-redrive");
    }

    #[test]
    fn event_topics_take_the_prefix_and_off_turns_the_feed_off() {
        let parse = |args: &[&str]| {
            Cli::try_parse_from(["gateway"].iter().chain(args))
                .unwrap()
                .config
                .event_topics()
        };
        assert_eq!(
            parse(&[
                "--topic-prefix",
                "t1.",
                "--event-topics",
                "customers,orders"
            ]),
            ["t1.customers", "t1.orders"]
        );
        assert!(parse(&["--event-topics", "off"]).is_empty());
        assert!(parse(&["--event-topics", ""]).is_empty());
    }

    #[test]
    fn create_user_takes_a_username_and_a_role() {
        let cli = Cli::try_parse_from([
            "gateway",
            "create-user",
            "--username",
            "rita",
            "--role",
            "reader",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::CreateUser { username, role: Role::Reader }) if username == "rita"
        ));
    }
}
