//! Builds the service from its configuration. `main` runs it; tests build it on port 0 against
//! their own database.

use crate::{
    config::Config,
    generator::OrderGenerator,
    http,
    store::{OrderStore, ALL_MIGRATIONS},
};
use anyhow::Context;
use runtime::{db, ops, Shutdown};

/// The service, built and not yet serving.
pub struct App {
    pub router: axum::Router,
    pub generator: OrderGenerator,
}

/// Migrates the database and returns the full router (API, generator, docs, health, metrics).
/// The generator starts stopped and never runs past `shutdown`.
pub async fn build(config: &Config, shutdown: &Shutdown) -> anyhow::Result<App> {
    let access = config.auth.policy()?;
    let pool = db::open(&config.database_url, ALL_MIGRATIONS, &config.pool)
        .await
        .context("opening the order database")?;
    let store = OrderStore::new(pool.clone());
    // The ops router installs the metrics recorder: build it before anything describes metrics.
    let ops = ops::router("order-api", db::readiness(&pool));
    let generator = OrderGenerator::new(store.clone(), shutdown.clone());
    let router = http::router(store, generator.clone(), &access).merge(ops);
    Ok(App { router, generator })
}

pub async fn run(config: Config, shutdown: Shutdown) -> anyhow::Result<()> {
    let app = build(&config, &shutdown).await?;
    let listener = runtime::serve::bind(config.addr)
        .await
        .with_context(|| format!("binding {}", config.addr))?;
    runtime::serve::serve(listener, app.router, shutdown).await?;
    // The generator saw the same shutdown; wait for its order in flight.
    app.generator.stop().await;
    tracing::info!("order-api stopped");
    Ok(())
}
