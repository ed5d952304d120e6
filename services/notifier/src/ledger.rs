//! The `sent_notifications` ledger: one row per change event, keyed by the event id, in the
//! notifier's own database. It is what makes redelivery (a restart, a rebalance, a new consumer
//! group replaying the topic) harmless.
//!
//! # The once-only protocol
//!
//! For each event the handler:
//!
//! 1. [`Ledger::claim`]s it: `INSERT … status 'pending' ON CONFLICT DO NOTHING`, then reads the
//!    row's status. `sent` or `failed`: the event was finished before, skip it. `pending`:
//!    either new or left unfinished by a crash, so go on.
//! 2. sends the email, with a Message-ID derived from the event id (the same on every attempt);
//! 3. [`Ledger::mark_sent`] (or, after the last failed attempt and once the failure is published
//!    on `notifications.failed`, [`Ledger::mark_failed`]);
//! 4. returns, and the consume loop commits the Kafka offset.
//!
//! A crash at any point replays the event from its uncommitted offset:
//!
//! - before step 2 finishes: the row is `pending`, so the email is sent on redelivery; a
//!   pending email is never lost;
//! - after step 3: the row says `sent`/`failed`, so redelivery skips it; a completed email is
//!   never sent twice;
//! - **the residual window**: after the SMTP server accepted the message but before the
//!   `sent` update committed. SMTP has no two-phase commit, so the notifier cannot know the
//!   mail went out and sends it once more. Both copies carry the same Message-ID, so a mail
//!   store or client deduplicating on it shows one. The handler keeps the window small by
//!   retrying the `sent` update in place rather than giving the message back to the loop.
//!
//! One partition per topic means one consumer of a group handles an event at a time. Two
//! *groups* sharing this database at the same moment could both find a row `pending` and both
//! send; replays by a new group are meant to run after, not beside, the first.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use diesel_migrations::{embed_migrations, EmbeddedMigrations};
use runtime::db::PgPool;
use uuid::Uuid;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");
/// Everything the notifier database needs, for [`runtime::db::migrate`].
pub const ALL_MIGRATIONS: &[EmbeddedMigrations] = &[MIGRATIONS];

diesel::table! {
    sent_notifications (event_id) {
        event_id -> Uuid,
        recipient -> Text,
        subject -> Text,
        status -> Text,
        attempts -> Int4,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

/// Where an event's notification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Claimed, not known to be delivered: send it.
    Pending,
    /// The SMTP server accepted it.
    Sent,
    /// Given up and reported on `notifications.failed`.
    Failed,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Sent => "sent",
            Status::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<Self, LedgerError> {
        match s {
            "pending" => Ok(Status::Pending),
            "sent" => Ok(Status::Sent),
            "failed" => Ok(Status::Failed),
            other => Err(LedgerError::Corrupt(other.to_owned())),
        }
    }

    /// Finished: a redelivery has nothing left to do.
    pub fn is_final(self) -> bool {
        self != Status::Pending
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("notifier database unavailable: {0}")]
    Unavailable(String),
    #[error("notifier database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("unknown notification status {0:?}")]
    Corrupt(String),
}

#[derive(Clone)]
pub struct Ledger {
    pool: PgPool,
}

impl Ledger {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    async fn conn(&self) -> Result<runtime::db::PgConn, LedgerError> {
        self.pool
            .get()
            .await
            .map_err(|e| LedgerError::Unavailable(e.to_string()))
    }

    /// Records the event as taken on (if it is new) and returns where it stands.
    pub async fn claim(
        &self,
        event_id: Uuid,
        recipient: &str,
        subject: &str,
    ) -> Result<Status, LedgerError> {
        use sent_notifications::dsl as n;
        let mut conn = self.conn().await?;
        diesel::insert_into(n::sent_notifications)
            .values((
                n::event_id.eq(event_id),
                n::recipient.eq(recipient),
                n::subject.eq(subject),
                n::status.eq(Status::Pending.as_str()),
            ))
            .on_conflict(n::event_id)
            .do_nothing()
            .execute(&mut conn)
            .await?;
        let status: String = n::sent_notifications
            .find(event_id)
            .select(n::status)
            .first(&mut conn)
            .await?;
        Status::parse(&status)
    }

    /// The SMTP server accepted the email after `attempts` attempts.
    pub async fn mark_sent(&self, event_id: Uuid, attempts: u32) -> Result<(), LedgerError> {
        self.finish(event_id, Status::Sent, attempts, None).await
    }

    /// Given up after `attempts` attempts, for `reason`.
    pub async fn mark_failed(
        &self,
        event_id: Uuid,
        attempts: u32,
        reason: &str,
    ) -> Result<(), LedgerError> {
        self.finish(event_id, Status::Failed, attempts, Some(reason))
            .await
    }

    async fn finish(
        &self,
        event_id: Uuid,
        status: Status,
        attempts: u32,
        reason: Option<&str>,
    ) -> Result<(), LedgerError> {
        use sent_notifications::dsl as n;
        let mut conn = self.conn().await?;
        diesel::update(n::sent_notifications.find(event_id))
            .set((
                n::status.eq(status.as_str()),
                n::attempts.eq(n::attempts + attempts as i32),
                n::last_error.eq(reason),
                n::updated_at.eq(diesel::dsl::now),
            ))
            .execute(&mut conn)
            .await?;
        Ok(())
    }
}
