//! notifier configuration: flags, each with an environment variable and a default.

use events::Topic;
use lettre::message::Mailbox;
use runtime::config::millis;
use std::{fmt, net::SocketAddr, str::FromStr, time::Duration};

#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "notifier",
    about = "Emails customers about changes to their record"
)]
pub struct Config {
    /// Address for health and metrics.
    #[arg(long, env = "NOTIFIER_ADDR", default_value = "127.0.0.1:8007")]
    pub addr: SocketAddr,
    /// PostgreSQL URL of the notifier's own database (the `sent_notifications` ledger).
    #[arg(
        long,
        env = "NOTIFIER_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5433/notifier"
    )]
    pub database_url: String,
    #[command(flatten)]
    pub pool: runtime::db::PoolArgs,
    #[command(flatten)]
    pub kafka: kafka::KafkaArgs,
    /// Prepended to every topic name (like Debezium's `topic.prefix`): the notifier reads
    /// `<prefix>customers` and `<prefix>order-executions` and reports to
    /// `<prefix>notifications.failed`.
    #[arg(long, env = "TOPIC_PREFIX", default_value = "")]
    pub topic_prefix: String,
    /// Consumer group; instances of one group share the work, a new group starts over.
    #[arg(long, env = "NOTIFIER_GROUP", default_value = "notifier")]
    pub group: String,
    /// Schema registry that explains Avro events (Confluent wire format); JSON events need
    /// none. Each message is decoded by its first byte, so either format is read.
    #[arg(long, env = "SCHEMA_REGISTRY_URL", default_value = codec::DEFAULT_REGISTRY_URL)]
    pub schema_registry_url: String,
    #[command(flatten)]
    pub smtp: SmtpArgs,
    /// Delivery attempts per email before it is reported on `notifications.failed`.
    #[arg(long, env = "NOTIFIER_MAX_ATTEMPTS", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_attempts: u32,
    /// First retry delay; it doubles per attempt, with jitter. Also the first back-off when
    /// the database is down.
    #[arg(long, env = "NOTIFIER_RETRY_BASE_MS", default_value = "500", value_parser = millis)]
    pub retry_base: Duration,
    /// Longest retry delay.
    #[arg(long, env = "NOTIFIER_RETRY_MAX_MS", default_value = "30000", value_parser = millis)]
    pub retry_max: Duration,
    #[command(flatten)]
    pub log: runtime::telemetry::LogArgs,
}

/// How to reach the SMTP server and who the mail is from.
#[derive(Debug, Clone, clap::Args)]
pub struct SmtpArgs {
    #[arg(long, env = "SMTP_HOST", default_value = "127.0.0.1")]
    pub smtp_host: String,
    #[arg(long, env = "SMTP_PORT", default_value_t = 1025)]
    pub smtp_port: u16,
    /// `none` (plain, for a local mail catcher), `starttls` (upgrade, usually port 587) or
    /// `tls` (implicit TLS, usually port 465).
    #[arg(long, env = "SMTP_TLS", value_enum, default_value_t = TlsMode::None)]
    pub smtp_tls: TlsMode,
    /// Login, if the server wants one (together with SMTP_PASSWORD).
    #[arg(long, env = "SMTP_USERNAME", requires = "smtp_password")]
    pub smtp_username: Option<String>,
    #[arg(
        long,
        env = "SMTP_PASSWORD",
        requires = "smtp_username",
        hide_env_values = true
    )]
    pub smtp_password: Option<Secret>,
    /// The sender, e.g. `Customer Care <care@example.com>`.
    #[arg(
        long,
        env = "SMTP_FROM",
        default_value = "Customer Care <no-reply@example.com>"
    )]
    pub smtp_from: Mailbox,
    /// How long one SMTP conversation may take before it counts as a failed attempt.
    #[arg(long, env = "SMTP_TIMEOUT_MS", default_value = "10000", value_parser = millis)]
    pub smtp_timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TlsMode {
    None,
    Starttls,
    Tls,
}

/// A value that is never printed (logs, `Debug`).
#[derive(Clone)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

impl Config {
    /// The topic this notifier consumes.
    pub fn customers_topic(&self) -> String {
        Topic::CUSTOMERS.with_prefix(&self.topic_prefix)
    }

    /// The order executions to tell customers about.
    pub fn executions_topic(&self) -> String {
        Topic::ORDER_EXECUTIONS.with_prefix(&self.topic_prefix)
    }

    /// Where emails go that could not be delivered.
    pub fn failed_topic(&self) -> String {
        Topic::NOTIFICATIONS_FAILED.with_prefix(&self.topic_prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn defaults_match_the_platform_design() {
        let config = Config::try_parse_from(["notifier"]).unwrap();
        assert_eq!(config.addr.to_string(), "127.0.0.1:8007");
        assert_eq!(config.smtp.smtp_host, "127.0.0.1");
        assert_eq!(config.smtp.smtp_port, 1025);
        assert_eq!(config.smtp.smtp_tls, TlsMode::None);
        assert_eq!(config.max_attempts, 5);
        assert_eq!(config.retry_base, Duration::from_millis(500));
        assert_eq!(config.group, "notifier");
        assert_eq!(config.customers_topic(), "customers");
        assert_eq!(config.executions_topic(), "order-executions");
        assert_eq!(config.failed_topic(), "notifications.failed");
    }

    #[test]
    fn topic_prefix_applies_to_every_topic() {
        let config = Config::try_parse_from(["notifier", "--topic-prefix", "t1."]).unwrap();
        assert_eq!(config.customers_topic(), "t1.customers");
        assert_eq!(config.executions_topic(), "t1.order-executions");
        assert_eq!(config.failed_topic(), "t1.notifications.failed");
    }

    #[test]
    fn password_never_shows_in_debug_output() {
        let config = Config::try_parse_from([
            "notifier",
            "--smtp-username",
            "mailer",
            "--smtp-password",
            "hunter2",
        ])
        .unwrap();
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
