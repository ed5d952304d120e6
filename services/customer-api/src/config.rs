//! customer-api configuration: flags, each with an environment variable and a default.

use std::net::SocketAddr;

#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "customer-api",
    about = "Customer CRUD API with a transactional outbox"
)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "CUSTOMER_API_ADDR", default_value = "127.0.0.1:8001")]
    pub addr: SocketAddr,
    /// PostgreSQL URL of the customer database (falls back to DATABASE_URL).
    #[arg(
        long,
        env = "CUSTOMER_DATABASE_URL",
        default_value_t = runtime::config::database_url_or_local("customers")
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
