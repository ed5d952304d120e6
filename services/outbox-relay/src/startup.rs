//! Wires the relay: health and metrics server plus the relay loop, both stopped by one token.

use crate::{config::Config, relay::OutboxRelay};
use runtime::{ops, Shutdown};
use std::sync::Arc;

pub async fn run(config: Config, shutdown: Shutdown) -> anyhow::Result<()> {
    let url = config.database_url.clone();
    // Ready means the outbox database answers; whether this instance leads is the
    // `relay_leader` metric, since a standby is healthy too.
    let ready: ops::ReadinessCheck = Arc::new(move || {
        let url = url.clone();
        Box::pin(async move {
            use diesel_async::AsyncConnection;
            diesel_async::AsyncPgConnection::establish(&url)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    });
    let server =
        runtime::serve::spawn_ops(config.addr, "outbox-relay", ready, shutdown.clone()).await?;
    let result = OutboxRelay::new(config).run(shutdown.clone()).await;
    shutdown.trigger();
    server.await??;
    result
}
