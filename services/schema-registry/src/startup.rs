//! Builds the service from its configuration, unstarted. `main` runs it; tests build it on port 0
//! against their own database.

use crate::{
    config::Config,
    http,
    in_use::InUse,
    store::{RegistryStore, MIGRATIONS},
};
use anyhow::Context;
use runtime::{db, ops, App};

pub const SERVICE: &str = "schema-registry";

/// Migrates the database and returns the service unstarted: the registry API, health and
/// metrics on its bound address.
pub async fn build(config: &Config) -> anyhow::Result<App> {
    let access = config.auth.policy()?;
    let pool = db::open(&config.database_url, MIGRATIONS, &config.pool)
        .await
        .context("opening the schema registry database")?;
    let store = RegistryStore::new(pool.clone(), InUse::new(config.kafka.clone()));
    let router = http::router(store, &access).merge(ops::router(SERVICE, db::readiness(&pool)));
    App::bind(SERVICE, config.addr, router).await
}
