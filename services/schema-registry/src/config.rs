//! schema-registry configuration: flags, each with an environment variable and a default.

use std::net::SocketAddr;

#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "schema-registry",
    about = "Confluent-compatible Schema Registry for Avro schemas, stored in PostgreSQL"
)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "SCHEMA_REGISTRY_ADDR", default_value = "127.0.0.1:8081")]
    pub addr: SocketAddr,
    /// PostgreSQL URL of the registry's own database (falls back to DATABASE_URL).
    #[arg(
        long,
        env = "SCHEMA_REGISTRY_DATABASE_URL",
        default_value_t = runtime::config::database_url_or_local("schema_registry")
    )]
    pub database_url: String,
    #[command(flatten)]
    pub pool: runtime::db::PoolArgs,
    /// The Kafka cluster whose topics the subjects describe: a permanent delete that would stop
    /// serving a schema id is refused while the subject's topic still holds records.
    #[command(flatten)]
    pub kafka: kafka::KafkaArgs,
    /// Who may write (register, delete, change compatibility): an admin token (`AUTH_MODE`,
    /// `JWT_SECRET`, as every API). Reads stay open.
    #[command(flatten)]
    pub auth: web::auth::AuthArgs,
    #[command(flatten)]
    pub log: runtime::telemetry::LogArgs,
}
