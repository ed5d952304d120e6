//! Wires the order-processor: migrations, the HTTP server (`/metrics/orders`, health,
//! metrics) and the consume loop, all stopped by one shutdown token.

use crate::{
    config::Config,
    handler::{self, ExecutionHandler},
    http,
    store::{ExecutionStore, ALL_MIGRATIONS},
};
use anyhow::Context;
use kafka::consume::ConsumeLoop;
use runtime::backoff::Backoff;
use runtime::{db, ops, App, Shutdown};

pub const SERVICE: &str = "order-processor";

/// The order-processor unstarted: `/metrics/orders`, health and metrics on its bound address,
/// the consume loop as its work.
pub async fn build(config: Config) -> anyhow::Result<App> {
    let pool = db::open(&config.database_url, ALL_MIGRATIONS, &config.pool)
        .await
        .context("opening the order-processor database")?;
    let store = ExecutionStore::new(pool.clone());
    // The ops router installs the metrics recorder; counters described before it would be lost.
    let router = ops::router(SERVICE, db::readiness(&pool)).merge(http::router(store.clone()));
    handler::describe_metrics();
    let app = App::bind(SERVICE, config.addr, router).await?;
    Ok(app.with_work(|shutdown| async move { consume(&config, store, &shutdown).await }))
}

async fn consume(
    config: &Config,
    store: ExecutionStore,
    shutdown: &Shutdown,
) -> anyhow::Result<()> {
    let topic = config.orders_topic();
    let backoff = Backoff {
        min: config.retry_base,
        max: config.retry_max,
    };
    // The broker may not be up yet: keep trying to join until it is, or until shutdown.
    let joined = backoff
        .until_ok("joining the broker", shutdown, || {
            ConsumeLoop::new(
                &config.kafka,
                SERVICE,
                &config.group,
                std::slice::from_ref(&topic),
                backoff,
            )
        })
        .await;
    let Some(consumer) = joined else {
        return Ok(());
    };
    tracing::info!(%topic, group = %config.group, "consuming");
    let mut handler =
        ExecutionHandler::new(store, codec::EventDecoder::new(&config.schema_registry_url));
    let handled = consumer.run(&mut handler, shutdown.requested()).await;
    tracing::info!(handled, "consume loop stopped");
    Ok(())
}
