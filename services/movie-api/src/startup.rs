//! Builds the service from its configuration, unstarted. `main` runs it; tests build it on port 0
//! against their own database.

use crate::{
    config::Config,
    http,
    store::{Casts, Movies, ALL_MIGRATIONS},
};
use anyhow::Context;
use resource::Snapshots;
use runtime::{db, ops, App};

/// Migrates the database and returns the service unstarted: the API, docs, health and metrics on
/// its bound address, and the snapshot runners.
pub async fn build(config: &Config) -> anyhow::Result<App> {
    let access = config.auth.policy()?;
    let pool = db::open(&config.database_url, ALL_MIGRATIONS, &config.pool)
        .await
        .context("opening the movie database")?;
    let casts = Snapshots::<Casts>::new(pool.clone(), config.snapshots.clone());
    let movies = Snapshots::<Movies>::new(pool.clone(), config.snapshots.clone());
    let router = http::router(pool.clone(), (casts.clone(), movies.clone()), &access)
        .merge(ops::router("movie-api", db::readiness(&pool)));
    let (casts, movies) = (casts.runner(), movies.runner());
    let app = App::bind("movie-api", config.addr, router).await?;
    Ok(app
        .with_work(move |shutdown| casts.run(shutdown))
        .with_work(move |shutdown| movies.run(shutdown)))
}
