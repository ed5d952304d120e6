//! order-processor configuration: flags, each with an environment variable and a default.

use runtime::config::millis;
use std::{net::SocketAddr, time::Duration};

#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "order-processor",
    about = "Prices orders and publishes their executions"
)]
pub struct Config {
    /// Address for `/metrics/orders`, health and Prometheus metrics.
    #[arg(long, env = "ORDER_PROCESSOR_ADDR", default_value = "127.0.0.1:8004")]
    pub addr: SocketAddr,
    /// PostgreSQL URL of the processor's own database (executions and their outbox; the
    /// database must exist, migrations run at start).
    #[arg(
        long,
        env = "ORDER_PROCESSOR_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5433/order_processor"
    )]
    pub database_url: String,
    #[command(flatten)]
    pub pool: runtime::db::PoolArgs,
    #[command(flatten)]
    pub kafka: kafka::KafkaArgs,
    /// Prepended to every topic name (like Debezium's `topic.prefix`): the processor reads
    /// `<prefix>orders`; its events go to `<prefix>order-executions` through the relay.
    #[arg(long, env = "TOPIC_PREFIX", default_value = "")]
    pub topic_prefix: String,
    /// Consumer group; instances of one group share the work, a new group starts over.
    #[arg(long, env = "ORDER_PROCESSOR_GROUP", default_value = "order-processor")]
    pub group: String,
    /// Schema registry that explains Avro events (Confluent wire format); JSON events need
    /// none. Each message is decoded by its first byte, so either format is read.
    #[arg(long, env = "SCHEMA_REGISTRY_URL", default_value = codec::DEFAULT_REGISTRY_URL)]
    pub schema_registry_url: String,
    /// First back-off while the database or broker is down; it doubles, with jitter.
    #[arg(long, env = "ORDER_PROCESSOR_RETRY_BASE_MS", default_value = "200", value_parser = millis)]
    pub retry_base: Duration,
    /// Longest back-off.
    #[arg(long, env = "ORDER_PROCESSOR_RETRY_MAX_MS", default_value = "10000", value_parser = millis)]
    pub retry_max: Duration,
    #[command(flatten)]
    pub log: runtime::telemetry::LogArgs,
}

impl Config {
    /// The topic the processor consumes.
    pub fn orders_topic(&self) -> String {
        events::Topic::ORDERS.with_prefix(&self.topic_prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn defaults_match_the_platform_design() {
        let config = Config::try_parse_from(["order-processor"]).unwrap();
        assert_eq!(config.addr.to_string(), "127.0.0.1:8004");
        assert_eq!(config.group, "order-processor");
        assert_eq!(config.orders_topic(), "orders");
    }

    #[test]
    fn topic_prefix_applies() {
        let config = Config::try_parse_from(["order-processor", "--topic-prefix", "t1."]).unwrap();
        assert_eq!(config.orders_topic(), "t1.orders");
    }
}
