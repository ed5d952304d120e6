//! Builds the service from its configuration. `main` runs it; tests build it on port 0 against
//! their own database.

use crate::{
    config::Config,
    http,
    store::{CustomerStore, ALL_MIGRATIONS},
};
use anyhow::Context;
use runtime::{db, ops, Shutdown};

/// Migrates the database and returns the full router (API, docs, health, metrics).
pub async fn build(config: &Config) -> anyhow::Result<axum::Router> {
    let access = config.auth.policy()?;
    let pool = db::open(&config.database_url, ALL_MIGRATIONS, &config.pool)
        .await
        .context("opening the customer database")?;
    let store = CustomerStore::new(pool.clone());
    Ok(http::router(store, &access).merge(ops::router("customer-api", db::readiness(&pool))))
}

pub async fn run(config: Config, shutdown: Shutdown) -> anyhow::Result<()> {
    let app = build(&config).await?;
    let listener = runtime::serve::bind(config.addr)
        .await
        .with_context(|| format!("binding {}", config.addr))?;
    runtime::serve::serve(listener, app, shutdown).await?;
    tracing::info!("customer-api stopped");
    Ok(())
}
