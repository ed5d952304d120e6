//! The relay loop.
//!
//! Ordering argument. Per aggregate, outbox id order is commit order: a writer locks the
//! aggregate's row before it inserts the outbox row, so a later writer of the same aggregate
//! draws its id only after the earlier one committed, and any snapshot that sees the later row
//! sees the earlier one too. The relay reads the lowest unpublished ids that it has not already
//! handed to the producer, in id order, and sends them in that order; only one relay publishes
//! at a time (see `leader`). If a read returns an aggregate's later row, its earlier row was
//! visible too and, having the lower id, was in this read or an earlier one, so it was sent
//! first. Each topic has one partition and the producer is idempotent, so the topic's order is
//! the order we sent. Hence topic order = commit order.
//!
//! A lower id of *another* aggregate may commit after a higher one; it is simply picked up by
//! the next read of unpublished rows, since the relay keeps no high-water mark.
//!
//! A failure never lets a later event overtake an earlier one. Once a batch cannot be handed
//! to the producer, no later batch is (see `drain`); and the producer never lets a message
//! through after an earlier one failed (`kafka::KafkaArgs::ordered_producer`: the gapless
//! guarantee, and no message timeout inside librdkafka; the relay bounds the wait for
//! acknowledgements itself and then replaces the producer, purging what it had not sent). So
//! the broker holds a prefix of what was sent, and the retry starts at the oldest unpublished
//! event.
//!
//! Delivery is at least once: a crash between the broker's acknowledgement and the
//! `published_at` update republishes that batch, and consumers deduplicate by event id/version.

use crate::{
    config::{Capture, Config},
    leader,
    publisher::{InFlight, Published, Publisher},
    wal,
};
use chrono::Utc;
use codec::{EventEncoder, EventFormat};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures::{FutureExt, StreamExt};
use runtime::backoff::Backoff;
use runtime::Shutdown;
use std::{
    collections::VecDeque,
    time::{Duration, Instant},
};

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Outbox(#[from] outbox::OutboxError),
    #[error(transparent)]
    Kafka(#[from] kafka::KafkaError),
    #[error("publishing failed: {0}")]
    Publish(String),
    #[error("query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("replication: {0}")]
    Replication(String),
}

/// How often the backlog gauges are refreshed while publishing.
pub const BACKLOG_REPORT_INTERVAL: Duration = Duration::from_secs(1);

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
            let token = c.registry_token();
            if token.is_none() {
                tracing::warn!("JWT_SECRET is unset: registering schemas without a token, which the platform's registry refuses (401); Confluent's takes them");
            }
            let encoder = EventEncoder::new(
                &c.format.schema_registry_url,
                &c.topic_prefix,
                token.as_deref(),
            );
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
        match self.config.capture {
            Capture::Poll => self.poll(conn, publisher, shutdown, failures).await,
            Capture::Wal => self.stream(conn, publisher, shutdown).await,
        }
    }

    /// `RELAY_CAPTURE=wal`: a new slot streams only what commits after it, so what the table
    /// held before is published first, with the polling drain.
    async fn stream(
        &self,
        conn: &mut AsyncPgConnection,
        publisher: &mut Publisher,
        shutdown: &Shutdown,
    ) -> Result<(), RelayError> {
        let c = &self.config;
        let slot = c.slot_name();
        let mut upkeep = Upkeep::new(Some(slot.clone()));
        wal::slot::ensure(conn, &c.publication, &slot).await?;
        if wal::slot::needs_drain(conn, &slot).await? {
            self.drain(conn, publisher, shutdown, &mut upkeep).await?;
            if shutdown.is_triggered() {
                return Ok(());
            }
            wal::slot::mark_drained(conn, &slot).await?;
        }
        wal::stream(c, conn, publisher, shutdown, &mut upkeep).await
    }

    /// `RELAY_CAPTURE=poll`: drain the table whenever a commit notifies (or the poll interval
    /// passes).
    async fn poll(
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
        let mut upkeep = Upkeep::new(None);
        loop {
            metrics::counter!("relay_drains_total").increment(1);
            // Before the drain too, so that the backlog shows while the broker is unreachable.
            upkeep.run(c, conn).await?;
            // Shutdown is checked between batches only: a batch in flight finishes and is
            // marked, so nothing acknowledged is left unmarked.
            self.drain(conn, publisher, shutdown, &mut upkeep).await?;
            *failures = 0;
            upkeep.run(c, conn).await?;
            let mut notifications = std::pin::pin!(conn.notifications_stream());
            tokio::select! {
                _ = shutdown.requested() => return Ok(()),
                _ = notifications.next() => {
                    // One wake-up covers every commit so far, since the drain reads whatever is
                    // unpublished. Without this a burst of 20 000 commits queued 20 000
                    // notifications, and the relay ran a backlog count and a drain for each,
                    // keeping a PostgreSQL core busy for minutes after the burst.
                    while let Some(Some(_)) = notifications.next().now_or_never() {}
                }
                _ = tokio::time::sleep(c.poll_interval) => {}
            }
        }
    }

    /// Publishes batches until the outbox has nothing unpublished (or shutdown).
    ///
    /// Up to `pipeline_depth` batches are in the producer at once: while the oldest one's
    /// acknowledgements are awaited and marked, the next ones are already on their way, so
    /// the database round trips overlap the broker's. Batches are marked in the order they
    /// were sent, and a failure stops the drain at the oldest unacknowledged event.
    ///
    /// Once a batch could not even be handed over (its topic could not be created, an event
    /// could not be encoded), no later batch is sent: it could carry a later version of an
    /// aggregate whose earlier version is in the failed one. The batches before it are awaited
    /// and marked, then the drain fails at it, and the caller replaces the producer.
    async fn drain(
        &self,
        conn: &mut AsyncPgConnection,
        publisher: &mut Publisher,
        shutdown: &Shutdown,
        upkeep: &mut Upkeep,
    ) -> Result<(), RelayError> {
        let c = &self.config;
        let mut in_flight: VecDeque<InFlight> = VecDeque::new();
        let mut caught_up = false;
        loop {
            while !caught_up
                && in_flight.len() < usize::from(c.pipeline_depth)
                && !in_flight.back().is_some_and(InFlight::failed_to_send)
                && !shutdown.is_triggered()
            {
                let sent: Vec<i64> = in_flight
                    .iter()
                    .flat_map(|b| b.events().iter().map(|e| e.id))
                    .collect();
                let batch = outbox::fetch_unpublished(conn, c.batch_size, &sent).await?;
                caught_up = (batch.len() as i64) < c.batch_size;
                if !batch.is_empty() {
                    in_flight.push_back(publisher.send(batch).await);
                }
            }
            // Shutdown stops new reads only: what is in flight is awaited and marked.
            let Some(oldest) = in_flight.pop_front() else {
                return Ok(());
            };
            let ids: Vec<i64> = oldest.events().iter().map(|e| e.id).collect();
            let Published { acked, error } = oldest.acknowledged().await;
            if acked > 0 {
                // From the log, the table keeps only what is yet to be published.
                match c.capture {
                    Capture::Poll => outbox::mark_published(conn, &ids[..acked]).await?,
                    Capture::Wal => outbox::delete(conn, &ids[..acked]).await?,
                };
                metrics::counter!("relay_published_total").increment(acked as u64);
            }
            if let Some(error) = error {
                metrics::counter!("relay_publish_failures_total").increment(1);
                return Err(RelayError::Publish(error));
            }
            // A backlog of millions drains for minutes without leaving this loop: the gauges
            // must still move and pruning must still happen.
            upkeep.run(c, conn).await?;
        }
    }
}

/// The relay's periodic chores, each at most at its own interval, wherever the relay is: the
/// backlog gauges (at most once a second: the count walks every index entry vacuum has not yet
/// removed, tens of milliseconds after a large drain, and at 1 000 commits/s the relay wakes
/// for nearly every commit), with the log the slot retains in `wal` mode, and pruning of
/// published rows (every `OUTBOX_PRUNE_INTERVAL_SECS`).
pub struct Upkeep {
    slot: Option<String>,
    last_backlog_report: Option<Instant>,
    last_prune: Option<Instant>,
}

impl Upkeep {
    fn new(slot: Option<String>) -> Self {
        Self {
            slot,
            last_backlog_report: None,
            last_prune: None,
        }
    }

    pub async fn run(
        &mut self,
        c: &Config,
        conn: &mut AsyncPgConnection,
    ) -> Result<(), RelayError> {
        if self
            .last_backlog_report
            .is_none_or(|t| t.elapsed() >= BACKLOG_REPORT_INTERVAL)
        {
            let backlog = outbox::backlog(conn).await?;
            metrics::gauge!("relay_backlog_rows").set(backlog.rows as f64);
            let age = backlog
                .oldest
                .map(|t| (Utc::now() - t).to_std().unwrap_or_default().as_secs_f64())
                .unwrap_or(0.0);
            metrics::gauge!("relay_oldest_unpublished_age_seconds").set(age);
            if let Some(slot) = &self.slot {
                if let Some(bytes) = crate::wal::slot::retained_bytes(conn, slot).await? {
                    metrics::gauge!("relay_slot_retained_bytes").set(bytes as f64);
                }
            }
            self.last_backlog_report = Some(Instant::now());
        }
        if self
            .last_prune
            .is_none_or(|t| t.elapsed() >= c.prune_interval)
        {
            let cutoff = Utc::now() - chrono::Duration::from_std(c.retention).unwrap_or_default();
            let pruned = outbox::prune_published(conn, cutoff).await?;
            if pruned > 0 {
                tracing::info!(pruned, "pruned published outbox rows");
            }
            self.last_prune = Some(Instant::now());
        }
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
    Backoff {
        min: Duration::from_millis(200),
        max: Duration::from_secs(30),
    }
    .delay(failures)
}
