//! Wires the replicator: MongoDB client, the shared consume loop, health and metrics.

use crate::{config::Config, handler::ReplicationHandler, read_model::ReadModel};
use anyhow::Context;
use kafka::consume::ConsumeLoop;
use mongodb::{
    bson::doc,
    options::{ClientOptions, WriteConcern},
    Client,
};
use runtime::backoff::Backoff;
use runtime::{ops, App, Shutdown};
use std::{sync::Arc, time::Duration};

/// The replicator unstarted: health and metrics on its bound address, the consume loop (or a
/// resync that stops once caught up) as its work.
pub async fn build(config: Config) -> anyhow::Result<App> {
    let mut options = ClientOptions::parse(&config.mongodb_uri)
        .await
        .context("parsing MONGODB_URI")?;
    // Fail fast while MongoDB is down, so the consume loop backs off and retries visibly.
    options.server_selection_timeout = Some(Duration::from_secs(3));
    options.connect_timeout = Some(Duration::from_secs(3));
    options.app_name = Some("replicator".into());
    // The offset is committed once the write is acknowledged, so the acknowledgement must mean
    // durable. SecantusDB (like mongod with j:false) acknowledges a plain write before it reaches
    // its journal, and a server killed within about a second loses it (measured) while the
    // offset is already committed. j:true costs about 10 ms per write instead of 4.
    options.write_concern = Some(WriteConcern::builder().journal(true).build());
    let client = Client::with_options(options)?;
    let db = client.database(&config.mongodb_database);
    if config.resync {
        tracing::info!(database = %config.mongodb_database, "resync: dropping the target database");
        db.drop()
            .await
            .context("dropping the resync target database")?;
    }

    let ping_db = db.clone();
    let ready: ops::ReadinessCheck = Arc::new(move || {
        let db = ping_db.clone();
        Box::pin(async move {
            db.run_command(doc! {"ping": 1})
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    });
    let app = App::bind("replicator", config.addr, ops::router("replicator", ready)).await?;
    Ok(app.with_work(|shutdown| replicate(config, db, shutdown)))
}

async fn replicate(
    config: Config,
    db: mongodb::Database,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let topics: Vec<String> = config
        .topics
        .iter()
        .map(|t| format!("{}{t}", config.topic_prefix))
        .collect();
    let consume = ConsumeLoop::new(
        &config.kafka,
        "replicator",
        &config.group,
        &topics,
        Backoff::default(),
    )
    .await?;
    let mut handler = ReplicationHandler::new(
        ReadModel::new(db),
        config.topic_prefix.clone(),
        codec::EventDecoder::new(&config.schema_registry_url),
    );
    tracing::info!(?topics, group = %config.group, database = %config.mongodb_database, "replicating");

    let handled = if config.resync {
        let caught_up = async {
            loop {
                tokio::select! {
                    _ = shutdown.requested() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
                if consume.caught_up() {
                    return;
                }
            }
        };
        consume
            .run_batches(&mut handler, config.batch_size.into(), caught_up)
            .await
    } else {
        consume
            .run_batches(&mut handler, config.batch_size.into(), shutdown.requested())
            .await
    };
    tracing::info!(handled, "consume loop stopped");
    Ok(())
}
