//! Builds the service from its configuration, unstarted. `main` runs it; tests build it on port 0
//! against their own database.

use crate::{
    config::Config,
    http,
    store::{CustomerStore, ALL_MIGRATIONS},
};
use anyhow::Context;
use resource::Snapshots;
use runtime::{db, ops, App};

/// Migrates the database and returns the service unstarted: the API, docs, health and metrics on
/// its bound address, and the snapshot runner.
pub async fn build(config: &Config) -> anyhow::Result<App> {
    let access = config.auth.policy()?;
    let pool = db::open(&config.database_url, ALL_MIGRATIONS, &config.pool)
        .await
        .context("opening the customer database")?;
    let store = CustomerStore::new(pool.clone());
    let snapshots = Snapshots::new(pool.clone(), config.snapshots.clone());
    let router = http::router(store, snapshots.clone(), &access)
        .merge(ops::router("customer-api", db::readiness(&pool)));
    let runner = snapshots.runner();
    let app = App::bind("customer-api", config.addr, router).await?;
    Ok(app.with_work(move |shutdown| runner.run(shutdown)))
}
