//! Wires the relay: the health and metrics server plus the relay loop, both stopped by one
//! shutdown token.

use crate::{config::Config, relay::OutboxRelay};
use runtime::{db, ops, App};

/// The relay unstarted: health and metrics on its bound address, the relay loop as its work.
pub async fn build(config: Config) -> anyhow::Result<App> {
    // Ready means the outbox database answers; whether this instance leads is the
    // `relay_leader` metric, since a standby is healthy too. One pooled connection answers
    // every probe: a probe opening a connection of its own per request could exhaust the server.
    let probe = db::pool(&config.database_url, &db::PoolArgs::with_size(1))?;
    let router = ops::router("outbox-relay", db::readiness(&probe));
    let app = App::bind("outbox-relay", config.addr, router).await?;
    Ok(app.with_work(|shutdown| OutboxRelay::new(config).run(shutdown)))
}
