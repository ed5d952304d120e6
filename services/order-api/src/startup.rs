//! Builds the service from its configuration, unstarted. `main` runs it; tests build it on port 0
//! against their own database.

use crate::{
    config::Config,
    generator::OrderGenerator,
    http,
    store::{OrderStore, Orders, ALL_MIGRATIONS},
};
use anyhow::Context;
use resource::Snapshots;
use runtime::{db, ops, App, Shutdown};

/// Migrates the database and returns the service unstarted: the API, generator, docs, health
/// and metrics on its bound address, and the snapshot runner.
/// The generator starts stopped and never runs past `shutdown`.
pub async fn build(config: &Config, shutdown: &Shutdown) -> anyhow::Result<App> {
    let access = config.auth.policy()?;
    let pool = db::open(&config.database_url, ALL_MIGRATIONS, &config.pool)
        .await
        .context("opening the order database")?;
    let store = OrderStore::new(pool.clone());
    let snapshots = Snapshots::<Orders>::new(pool.clone(), config.snapshots.clone());
    let runner = snapshots.runner();
    // The ops router installs the metrics recorder: build it before anything describes metrics.
    let ops = ops::router("order-api", db::readiness(&pool));
    let generator = OrderGenerator::new(store.clone(), shutdown.clone());
    let router = http::router(store, generator.clone(), snapshots, &access).merge(ops);
    let app = App::bind("order-api", config.addr, router).await?;
    // Stopping waits for the generator's order in flight.
    Ok(app
        .with_work(|shutdown| async move {
            shutdown.requested().await;
            generator.stop().await;
            Ok(())
        })
        .with_work(move |shutdown| runner.run(shutdown)))
}
