//! Builds the service from its configuration. `main` runs it; tests build it on port 0 against
//! their own database.

use crate::{
    config::Config,
    http,
    in_use::InUse,
    store::{RegistryStore, MIGRATIONS},
};
use anyhow::Context;
use runtime::{db, ops, Shutdown};
use std::sync::Arc;

pub const SERVICE: &str = "schema-registry";

/// Migrates the database and returns the full router (registry API, health, metrics).
pub async fn build(config: &Config) -> anyhow::Result<axum::Router> {
    let access = config.auth.policy()?;
    db::migrate(&config.database_url, MIGRATIONS)
        .await
        .context("migrating the schema registry database")?;
    let pool = db::pool(&config.database_url, &config.pool)?;
    let store = RegistryStore::new(pool.clone(), InUse::new(config.kafka.clone()));
    let ready: ops::ReadinessCheck = Arc::new(move || {
        let pool = pool.clone();
        Box::pin(async move { db::ping(&pool).await.map_err(|e| e.to_string()) })
    });
    Ok(http::router(store, &access).merge(ops::router(SERVICE, ready)))
}

pub async fn run(config: Config, shutdown: Shutdown) -> anyhow::Result<()> {
    let app = build(&config).await?;
    let listener = runtime::serve::bind(config.addr)
        .await
        .with_context(|| format!("binding {}", config.addr))?;
    runtime::serve::serve(listener, app, shutdown).await?;
    tracing::info!("schema-registry stopped");
    Ok(())
}
