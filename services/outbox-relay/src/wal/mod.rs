//! `RELAY_CAPTURE=wal`: the relay reads the outbox's inserts from a logical replication slot
//! (`pgoutput`) instead of polling the table.
//!
//! Ordering argument, restated for this mode. The slot delivers transactions in commit order,
//! each one's changes in the order it made them, and only after it committed. The relay sends
//! events in exactly the order the stream delivered them, with the same pipeline and producer
//! as the polling mode (a batch that cannot be handed over stops every later one; the producer
//! never lets a later message through after an earlier one failed), so each topic's order is
//! commit order: for one aggregate, the order of its versions.
//!
//! Nothing is lost. The slot's confirmed position (`confirmed_flush_lsn`) moves only past
//! transactions whose every event the broker acknowledged: a batch holds whole transactions,
//! and a batch's commit position is confirmed after its acknowledgement and after its rows are
//! deleted. On any failure, SIGKILL of the relay, the broker or PostgreSQL, the stream restarts
//! at the confirmed position and sends again what was not confirmed: at least once, as in the
//! polling mode. A slot only streams what commits after it was created, so the relay that
//! creates one first publishes what the table holds (the polling drain), and records when that
//! finished (`outbox_capture_slots`), so a relay killed during it drains again.
//!
//! The table does not grow: the relay deletes acknowledged rows, one statement per batch. It is
//! the relay rather than the API that deletes, so that a row stays until it is published: a slot
//! dropped while the relay is down is recreated, and what the table holds is published first.

mod pgoutput;
pub mod slot;

use crate::config::Config;
use crate::publisher::{InFlight, Published, Publisher};
use crate::relay::{RelayError, Upkeep};
use diesel_async::AsyncPgConnection;
use outbox::PendingEvent;
use pgwire_replication::{Lsn, ReplicationClient, ReplicationConfig, ReplicationEvent};
use runtime::Shutdown;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;

/// Events of a committed transaction, at most a batch of them; the last part of a transaction
/// carries the position just past its commit, which may be confirmed once it is acknowledged.
/// (Without streaming, pgoutput sends a transaction only after it committed, so a large one can
/// be sent in parts as it arrives: memory stays bounded by the pipeline, not the transaction.)
struct Committed {
    events: Vec<PendingEvent>,
    end: Option<Lsn>,
}

/// A batch handed to the producer: its rows, the commit position to confirm once the broker
/// acknowledged it, and that acknowledgement.
struct Sent {
    ids: Vec<i64>,
    end: Option<Lsn>,
    failed_to_send: bool,
    acknowledged: Pin<Box<dyn Future<Output = Published> + Send>>,
}

impl Sent {
    fn new(batch: InFlight, end: Option<Lsn>) -> Self {
        Self {
            ids: batch.events().iter().map(|e| e.id).collect(),
            end,
            failed_to_send: batch.failed_to_send(),
            acknowledged: Box::pin(batch.acknowledged()),
        }
    }
}

/// Publishes what the slot streams, while this instance leads. Returns `Ok` only on shutdown.
pub async fn stream(
    c: &Config,
    conn: &mut AsyncPgConnection,
    publisher: &mut Publisher,
    shutdown: &Shutdown,
    upkeep: &mut Upkeep,
) -> Result<(), RelayError> {
    let slot_name = c.slot_name();
    slot::free(conn, &slot_name).await?;
    let mut client = ReplicationClient::connect(replication_config(c, &slot_name)?)
        .await
        .map_err(replication)?;
    client.wait_started().await.map_err(replication)?;
    tracing::info!(slot = %slot_name, "streaming the outbox from the write-ahead log");
    let result = publish_stream(c, conn, publisher, shutdown, upkeep, &mut client).await;
    let _ = client.shutdown().await;
    result
}

/// One loop waits for whichever comes first: the oldest batch's acknowledgement, the next
/// event of the stream, the heartbeat, shutdown. So the stream keeps being read, and new
/// transactions keep being sent, while earlier batches are on their way to the broker.
async fn publish_stream(
    c: &Config,
    conn: &mut AsyncPgConnection,
    publisher: &mut Publisher,
    shutdown: &Shutdown,
    upkeep: &mut Upkeep,
    client: &mut ReplicationClient,
) -> Result<(), RelayError> {
    let depth = usize::from(c.pipeline_depth);
    let batch_size = c.batch_size as usize;
    let mut stream = Stream {
        part: batch_size,
        ..Stream::default()
    };
    let mut heartbeat = tokio::time::interval(c.heartbeat_interval);
    // An idle stream still wakes for the gauges (the log the slot retains keeps growing with
    // other databases' writes).
    let mut gauges = tokio::time::interval(crate::relay::BACKLOG_REPORT_INTERVAL);
    let mut in_flight: VecDeque<Sent> = VecDeque::new();
    let mut done = Done::default();
    loop {
        let stopping = shutdown.is_triggered();
        while !stopping
            && in_flight.len() < depth
            && !stream.committed.is_empty()
            && !in_flight.back().is_some_and(|s| s.failed_to_send)
        {
            let (events, end) = stream.batch(batch_size);
            in_flight.push_back(Sent::new(publisher.send(events).await, end));
        }
        if stopping && in_flight.is_empty() {
            done.finish(conn, client).await?;
            return Ok(());
        }
        let idle = stream.committed.is_empty() && in_flight.is_empty();
        if (idle || stopping || done.ids.len() >= batch_size) && !done.ids.is_empty() {
            done.finish(conn, client).await?;
        }
        // Reading ahead stops once a full pipeline's worth of events waits.
        let read_more = !stopping && stream.queued < depth * batch_size;
        let oldest = async {
            match in_flight.front_mut() {
                Some(sent) => sent.acknowledged.as_mut().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            published = oldest => {
                let Sent { ids, end, .. } = in_flight.pop_front().expect("awaited");
                let Published { acked, error } = published;
                metrics::counter!("relay_published_total").increment(acked as u64);
                done.ids.extend_from_slice(&ids[..acked]);
                if let Some(error) = error {
                    metrics::counter!("relay_publish_failures_total").increment(1);
                    done.finish(conn, client).await?;
                    return Err(RelayError::Publish(error));
                }
                if end.is_some() {
                    done.end = end;
                }
            }
            event = client.recv(), if read_more => stream.take(next(event)?, client, idle)?,
            _ = heartbeat.tick(), if idle => slot::heartbeat(conn).await?,
            _ = gauges.tick() => {}
            _ = shutdown.requested(), if !stopping => {}
        }
        upkeep.run(c, conn).await?;
    }
}

/// Acknowledged events not yet deleted, and the commit position confirmed once they are.
/// Deleting waits for a batch's worth (or for the stream to go idle): one statement, and one
/// commit to flush, per batch size of events instead of per acknowledgement. Confirming waits
/// for the delete, so a relay that dies in between sends those events again and deletes them
/// then.
#[derive(Default)]
struct Done {
    ids: Vec<i64>,
    end: Option<Lsn>,
}

impl Done {
    async fn finish(
        &mut self,
        conn: &mut AsyncPgConnection,
        client: &ReplicationClient,
    ) -> Result<(), RelayError> {
        if !self.ids.is_empty() {
            outbox::delete(conn, &self.ids).await?;
            self.ids.clear();
        }
        if let Some(end) = self.end.take() {
            client.update_applied_lsn(end);
        }
        Ok(())
    }
}

/// The stream's state between events: the transaction being read and the committed ones not
/// yet sent.
#[derive(Default)]
struct Stream {
    decoder: pgoutput::Decoder,
    /// The transaction being read (never more than a batch: the rest is queued already).
    open: Vec<PendingEvent>,
    committed: VecDeque<Committed>,
    /// Events in `committed`.
    queued: usize,
    /// Events per queued part.
    part: usize,
}

impl Stream {
    /// Takes one event of the stream. `idle`: nothing is committed-but-unsent or in flight, so
    /// a position the stream reaches may be confirmed at once (a heartbeat, or a transaction
    /// with no outbox rows).
    fn take(
        &mut self,
        event: ReplicationEvent,
        client: &ReplicationClient,
        idle: bool,
    ) -> Result<(), RelayError> {
        match event {
            ReplicationEvent::Begin { .. } => self.open.clear(),
            ReplicationEvent::XLogData { data, .. } => {
                if let Some(event) = self
                    .decoder
                    .decode(&data)
                    .map_err(|e| RelayError::Replication(e.to_string()))?
                {
                    // One event always stays open, so that the commit ends a non-empty part.
                    if self.open.len() > self.part.max(1) {
                        let rest = self.open.split_off(self.part.max(1));
                        let part = std::mem::replace(&mut self.open, rest);
                        self.queue(part, None);
                    }
                    self.open.push(event);
                }
            }
            ReplicationEvent::Commit { end_lsn, .. } => {
                if self.open.is_empty() {
                    if idle && self.committed.is_empty() {
                        client.update_applied_lsn(end_lsn);
                    }
                } else {
                    let part = std::mem::take(&mut self.open);
                    self.queue(part, Some(end_lsn));
                }
            }
            ReplicationEvent::Message { prefix, lsn, .. }
                if prefix == slot::HEARTBEAT && idle && self.committed.is_empty() =>
            {
                client.update_applied_lsn(lsn);
            }
            ReplicationEvent::StoppedAt { .. } => {
                return Err(RelayError::Replication("the stream stopped".into()))
            }
            _ => {}
        }
        Ok(())
    }

    fn queue(&mut self, events: Vec<PendingEvent>, end: Option<Lsn>) {
        self.queued += events.len();
        self.committed.push_back(Committed { events, end });
    }

    /// Queued parts, oldest first, up to `limit` events, and the commit position of the last
    /// transaction that ends in them.
    fn batch(&mut self, limit: usize) -> (Vec<PendingEvent>, Option<Lsn>) {
        let first = self.committed.pop_front().expect("a queued part");
        let (mut events, mut end) = (first.events, first.end);
        while self
            .committed
            .front()
            .is_some_and(|next| events.len() + next.events.len() <= limit)
        {
            let next = self.committed.pop_front().expect("checked");
            events.extend(next.events);
            // A part without an end leaves the last whole transaction's to confirm.
            end = next.end.or(end);
        }
        self.queued -= events.len();
        (events, end)
    }
}

fn next(
    event: pgwire_replication::Result<Option<ReplicationEvent>>,
) -> Result<ReplicationEvent, RelayError> {
    event
        .map_err(replication)?
        .ok_or_else(|| RelayError::Replication("the replication stream ended".into()))
}

fn replication(e: pgwire_replication::PgWireError) -> RelayError {
    RelayError::Replication(e.to_string())
}

/// The replication connection to the relay's database, from its URL; timestamps in UTC and ISO
/// form, as the decoder reads them.
fn replication_config(c: &Config, slot: &str) -> Result<ReplicationConfig, RelayError> {
    let url = url::Url::parse(&c.database_url)
        .map_err(|e| RelayError::Replication(format!("RELAY_DATABASE_URL: {e}")))?;
    let decoded = |s: &str| {
        percent_decode(s).map_err(|e| RelayError::Replication(format!("RELAY_DATABASE_URL: {e}")))
    };
    let user = decoded(url.username())?;
    let password = decoded(url.password().unwrap_or(""))?;
    let database = decoded(url.path().trim_start_matches('/'))?;
    let host = url.host_str().unwrap_or("localhost").to_owned();
    Ok(ReplicationConfig::new(
        host,
        if user.is_empty() {
            "postgres".into()
        } else {
            user
        },
        password,
        database,
        slot,
        c.publication.clone(),
    )
    .with_port(url.port().unwrap_or(5432))
    .with_options("-c TimeZone=UTC -c DateStyle=ISO")
    .with_application_name("outbox-relay"))
}

fn percent_decode(s: &str) -> Result<String, std::str::Utf8Error> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|s| s.into_owned())
}
