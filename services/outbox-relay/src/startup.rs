//! Wires the relay: health and metrics server plus the relay loop, both stopped by one token.

use crate::{config::Config, relay::OutboxRelay};
use runtime::{ops, Shutdown};
use std::sync::Arc;

pub async fn run(config: Config, shutdown: Shutdown) -> anyhow::Result<()> {
    // Ready means the outbox database answers; whether this instance leads is the
    // `relay_leader` metric, since a standby is healthy too. One pooled connection answers
    // every probe: a probe opening a connection of its own per request could exhaust the server.
    let probe = runtime::db::pool(&config.database_url, &runtime::db::PoolArgs::with_size(1))?;
    let ready: ops::ReadinessCheck = Arc::new(move || {
        let probe = probe.clone();
        Box::pin(async move { runtime::db::ping(&probe).await.map_err(|e| e.to_string()) })
    });
    let server =
        runtime::serve::spawn_ops(config.addr, "outbox-relay", ready, shutdown.clone()).await?;
    let result = OutboxRelay::new(config).run(shutdown.clone()).await;
    shutdown.trigger();
    server.await??;
    result
}
