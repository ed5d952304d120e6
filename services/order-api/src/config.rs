//! order-api configuration: flags, each with an environment variable and a default.

use std::net::SocketAddr;

#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "order-api",
    about = "Order API with a transactional outbox and an order generator"
)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "ORDER_API_ADDR", default_value = "127.0.0.1:8003")]
    pub addr: SocketAddr,
    /// PostgreSQL URL of the order database (its own database; migrations run at start).
    #[arg(
        long,
        env = "ORDER_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5433/orders"
    )]
    pub database_url: String,
    #[command(flatten)]
    pub pool: runtime::db::PoolArgs,
    /// Snapshots (`SNAPSHOT_CHUNK_SIZE`, `SNAPSHOT_CHUNK_PAUSE_MS`).
    #[command(flatten)]
    pub snapshots: resource::SnapshotArgs,
    /// Bearer-token authentication (`AUTH_MODE`, `JWT_SECRET`).
    #[command(flatten)]
    pub auth: web::auth::AuthArgs,
    #[command(flatten)]
    pub log: runtime::telemetry::LogArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn defaults_match_the_platform_design() {
        let config = Config::try_parse_from(["order-api"]).unwrap();
        assert_eq!(config.addr.to_string(), "127.0.0.1:8003");
        assert!(config.database_url.ends_with("/orders"));
    }
}
