//! Wires the order-processor: migrations, the HTTP server (`/metrics/orders`, health,
//! metrics) and the consume loop, all stopped by one shutdown token.

use crate::{
    config::Config,
    handler::{self, ExecutionHandler},
    http,
    store::{ExecutionStore, ALL_MIGRATIONS},
};
use anyhow::Context;
use kafka::consume::{ConsumeLoop, RetryPolicy};
use runtime::{db, ops, Shutdown};
use std::sync::Arc;

pub const SERVICE: &str = "order-processor";

pub async fn run(config: Config, shutdown: Shutdown) -> anyhow::Result<()> {
    db::migrate(&config.database_url, ALL_MIGRATIONS)
        .await
        .context("migrating the order-processor database")?;
    let pool = db::pool(&config.database_url, &config.pool)?;
    let store = ExecutionStore::new(pool.clone());

    let ready: ops::ReadinessCheck = Arc::new(move || {
        let pool = pool.clone();
        Box::pin(async move { db::ping(&pool).await.map_err(|e| e.to_string()) })
    });
    let listener = runtime::serve::bind(config.addr)
        .await
        .with_context(|| format!("binding {}", config.addr))?;
    // The ops router installs the metrics recorder; counters described before it would be lost.
    let router = ops::router(SERVICE, ready).merge(http::router(store.clone()));
    handler::describe_metrics();
    let server = tokio::spawn(runtime::serve::serve(listener, router, shutdown.clone()));

    let result = consume(&config, store, &shutdown).await;
    shutdown.trigger();
    server.await??;
    tracing::info!("order-processor stopped");
    result
}

async fn consume(
    config: &Config,
    store: ExecutionStore,
    shutdown: &Shutdown,
) -> anyhow::Result<()> {
    let topic = config.orders_topic();
    let backoff = RetryPolicy {
        min: config.retry_base,
        max: config.retry_max,
    };
    // The broker may not be up yet: keep trying to join until it is, or until shutdown.
    let mut attempt = 0;
    let consumer = loop {
        match ConsumeLoop::new(
            &config.kafka,
            SERVICE,
            &config.group,
            std::slice::from_ref(&topic),
            backoff,
        )
        .await
        {
            Ok(consumer) => break consumer,
            Err(e) => {
                let delay = backoff.delay(attempt);
                attempt += 1;
                tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "joining the broker failed; retrying");
                tokio::select! {
                    _ = shutdown.requested() => return Ok(()),
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        }
    };
    tracing::info!(%topic, group = %config.group, "consuming");
    let mut handler =
        ExecutionHandler::new(store, codec::EventDecoder::new(&config.schema_registry_url));
    let handled = consumer.run(&mut handler, shutdown.requested()).await;
    tracing::info!(handled, "consume loop stopped");
    Ok(())
}
