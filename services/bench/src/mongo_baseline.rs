//! The replicator's baseline: the documents the replicator would write (the `after` image with
//! `_id`, `_version`, `_event_id`, `_updated_at`), sent with the same unordered, version-guarded
//! `update` command, batch size and `j: true`, but without Kafka, tombstone look-ups or offsets.

use crate::{events_file, per_second};
use anyhow::Context;
use mongodb::bson::{self, doc, Bson, Document};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(long)]
    uri: String,
    #[arg(long)]
    database: String,
    #[arg(long, default_value = "customers")]
    collection: String,
    #[arg(long)]
    input: PathBuf,
    #[arg(long, default_value_t = 500)]
    batch_size: usize,
}

pub async fn run(args: Args) -> anyhow::Result<Value> {
    let events = events_file::read(&args.input)?;
    let documents = events
        .iter()
        .map(|e| document(&e.payload))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let client = mongodb::Client::with_uri_str(&args.uri).await?;
    let db = client.database(&args.database);
    db.collection::<Document>(&args.collection).drop().await?;
    eprintln!(
        "upserting {} documents into {}.{} in batches of {}",
        documents.len(),
        args.database,
        args.collection,
        args.batch_size
    );
    let start = Instant::now();
    for batch in documents.chunks(args.batch_size.max(1)) {
        let updates: Vec<Document> = batch
            .iter()
            .map(|d| {
                doc! {
                    "q": {"_id": d.get_str("_id").unwrap_or_default(), "_version": {"$lt": d.get_i64("_version").unwrap_or(1)}},
                    "u": d.clone(),
                    "upsert": true,
                }
            })
            .collect();
        let reply = db
            .run_command(doc! {
                "update": &args.collection,
                "updates": updates,
                "ordered": false,
                "writeConcern": {"w": 1, "j": true},
            })
            .await?;
        if let Ok(errors) = reply.get_array("writeErrors") {
            anyhow::bail!("{} write errors, first: {:?}", errors.len(), errors.first());
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    Ok(json!({
        "documents": documents.len(),
        "seconds": seconds,
        "docs_per_sec": per_second(documents.len() as f64, seconds),
        "batch_size": args.batch_size,
    }))
}

/// The replicator's document for a change event's JSON.
fn document(payload: &str) -> anyhow::Result<Document> {
    let event: Value = serde_json::from_str(payload)?;
    let after = event.get("after").context("event without after")?;
    let mut document = match bson::to_bson(after)? {
        Bson::Document(d) => d,
        other => anyhow::bail!("after is not an object: {other}"),
    };
    let occurred_at: chrono::DateTime<chrono::Utc> = event
        .get("occurred_at")
        .and_then(Value::as_str)
        .context("event without occurred_at")?
        .parse()?;
    document.insert(
        "_id",
        event["aggregate_id"].as_str().context("no aggregate_id")?,
    );
    document.insert("_version", event["version"].as_i64().unwrap_or(1));
    document.insert("_event_id", event["id"].as_str().unwrap_or_default());
    document.insert(
        "_updated_at",
        bson::DateTime::from_millis(occurred_at.timestamp_millis()),
    );
    Ok(document)
}
