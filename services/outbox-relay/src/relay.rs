//! The relay loop.
//!
//! Ordering argument. Per aggregate, outbox id order is commit order: a writer locks the
//! aggregate's row before it inserts the outbox row, so a later writer of the same aggregate
//! draws its id only after the earlier one committed, and any snapshot that sees the later row
//! sees the earlier one too. The relay publishes unpublished rows in id order, one batch at a
//! time, awaiting every acknowledgement before it reads the next batch, and only one relay
//! publishes at a time (see `leader`). Each topic has one partition and the producer is
//! idempotent, so the topic's order is the order we sent. Hence topic order = commit order.
//!
//! A lower id of *another* aggregate may commit after a higher one; it is simply picked up by
//! the next read of unpublished rows, since the relay keeps no high-water mark.
//!
//! Delivery is at least once: a crash between the broker's acknowledgement and the
//! `published_at` update republishes that batch, and consumers deduplicate by event id/version.

use crate::{
    config::Config,
    leader,
    publisher::{Published, Publisher},
};
use backon::{BackoffBuilder, ExponentialBuilder};
use chrono::Utc;
use codec::{EventEncoder, EventFormat};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures::StreamExt;
use runtime::Shutdown;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
enum RelayError {
    #[error(transparent)]
    Outbox(#[from] outbox::OutboxError),
    #[error(transparent)]
    Kafka(#[from] kafka::KafkaError),
    #[error("publishing failed: {0}")]
    Publish(String),
    #[error("LISTEN failed: {0}")]
    Listen(#[from] diesel::result::Error),
}

pub struct OutboxRelay {
    config: Config,
}

impl OutboxRelay {
    pub fn new(config: Config) -> Self {
        Self { config }
    }

    /// Runs until shutdown: wait for leadership, publish while leading, and on any failure
    /// give leadership up, back off, and start over.
    pub async fn run(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let c = &self.config;
        let mut publisher = Publisher::new(
            c.kafka.clone(),
            c.topic_prefix.clone(),
            c.delivery_timeout,
            c.linger,
        )?;
        if c.format.event_format == EventFormat::Avro {
            let encoder = EventEncoder::new(&c.format.schema_registry_url, &c.topic_prefix);
            if !register_schemas(&encoder, &c.format.schema_registry_url, &shutdown).await? {
                return Ok(()); // shutdown while waiting for the registry
            }
            publisher = publisher.with_avro(encoder);
        }
        let mut failures = 0u32;
        while !shutdown.is_triggered() {
            metrics::gauge!("relay_leader").set(0.0);
            let Some(mut conn) =
                leader::acquire(&c.database_url, c.lock_key, c.standby_poll, &shutdown).await
            else {
                break;
            };
            tracing::info!("leadership acquired; publishing");
            metrics::gauge!("relay_leader").set(1.0);
            match self
                .lead(&mut conn, &mut publisher, &shutdown, &mut failures)
                .await
            {
                Ok(()) => break,
                Err(e) => {
                    let delay = retry_delay(failures);
                    failures = failures.saturating_add(1);
                    tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "relay interrupted");
                    drop(conn); // releases the lock so a healthy standby can take over
                    if let Err(e) = publisher.reset() {
                        tracing::warn!(error = %e, "recreating the producer failed");
                    }
                    tokio::select! {
                        _ = shutdown.requested() => break,
                        _ = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
        metrics::gauge!("relay_leader").set(0.0);
        tracing::info!("relay stopped");
        Ok(())
    }

    /// Publishes while this instance leads. Returns `Ok` only on shutdown.
    async fn lead(
        &self,
        conn: &mut AsyncPgConnection,
        publisher: &mut Publisher,
        shutdown: &Shutdown,
        failures: &mut u32,
    ) -> Result<(), RelayError> {
        let c = &self.config;
        diesel::sql_query(format!("LISTEN {}", outbox::NOTIFY_CHANNEL))
            .execute(conn)
            .await?;
        let mut last_prune: Option<Instant> = None;
        loop {
            // Before the drain, so that the backlog shows while the broker is unreachable.
            self.report_backlog(conn).await?;
            // Shutdown is checked between batches only: a batch in flight finishes and is
            // marked, so nothing acknowledged is left unmarked.
            self.drain(conn, publisher, shutdown).await?;
            *failures = 0;
            if last_prune.is_none_or(|t| t.elapsed() >= c.prune_interval) {
                let cutoff =
                    Utc::now() - chrono::Duration::from_std(c.retention).unwrap_or_default();
                let pruned = outbox::prune_published(conn, cutoff).await?;
                if pruned > 0 {
                    tracing::info!(pruned, "pruned published outbox rows");
                }
                last_prune = Some(Instant::now());
            }
            let mut notifications = std::pin::pin!(conn.notifications_stream());
            tokio::select! {
                _ = shutdown.requested() => return Ok(()),
                _ = notifications.next() => {}
                _ = tokio::time::sleep(c.poll_interval) => {}
            }
        }
    }

    /// Publishes batches until the outbox has nothing unpublished (or shutdown).
    async fn drain(
        &self,
        conn: &mut AsyncPgConnection,
        publisher: &mut Publisher,
        shutdown: &Shutdown,
    ) -> Result<(), RelayError> {
        while !shutdown.is_triggered() {
            let batch = outbox::fetch_unpublished(conn, self.config.batch_size).await?;
            if batch.is_empty() {
                return Ok(());
            }
            let Published { acked, error } = publisher.publish(&batch).await;
            if acked > 0 {
                let ids: Vec<i64> = batch[..acked].iter().map(|e| e.id).collect();
                outbox::mark_published(conn, &ids).await?;
                metrics::counter!("relay_published_total").increment(acked as u64);
            }
            if let Some(error) = error {
                metrics::counter!("relay_publish_failures_total").increment(1);
                return Err(RelayError::Publish(error));
            }
            if (batch.len() as i64) < self.config.batch_size {
                return Ok(());
            }
        }
        Ok(())
    }

    async fn report_backlog(&self, conn: &mut AsyncPgConnection) -> Result<(), RelayError> {
        let backlog = outbox::backlog(conn).await?;
        metrics::gauge!("relay_backlog_rows").set(backlog.rows as f64);
        let age = backlog
            .oldest
            .map(|t| (Utc::now() - t).to_std().unwrap_or_default().as_secs_f64())
            .unwrap_or(0.0);
        metrics::gauge!("relay_oldest_unpublished_age_seconds").set(age);
        Ok(())
    }
}

/// Registers the schema of every event topic before anything is published. An incompatible
/// (or otherwise refused) schema is an error: publishing events the registry would not accept
/// under that subject would break its consumers. An unreachable registry is waited for, with
/// backoff, as an unreachable broker is. False if shutdown came first.
async fn register_schemas(
    encoder: &EventEncoder,
    url: &str,
    shutdown: &Shutdown,
) -> anyhow::Result<bool> {
    let mut failures = 0u32;
    loop {
        match encoder.register_all().await {
            Ok(ids) => {
                tracing::info!(registry = url, ?ids, "schemas registered; publishing Avro");
                return Ok(true);
            }
            Err(e) if e.is_fatal() => {
                tracing::error!(registry = url, error = %e, "refusing to start");
                return Err(anyhow::anyhow!("refusing to start: {e}"));
            }
            Err(e) => {
                let delay = retry_delay(failures);
                failures = failures.saturating_add(1);
                tracing::warn!(registry = url, error = %e, retry_in_ms = delay.as_millis() as u64,
                    "cannot register the event schemas yet; retrying");
                tokio::select! {
                    _ = shutdown.requested() => return Ok(false),
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
}

/// Exponential backoff with jitter, 200 ms doubling up to 30 s, by consecutive failures.
fn retry_delay(failures: u32) -> Duration {
    const MAX: Duration = Duration::from_secs(30);
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(MAX)
        .with_jitter()
        .without_max_times()
        .build()
        .nth(failures.min(16) as usize)
        .map_or(MAX, |delay| delay.min(MAX))
}
