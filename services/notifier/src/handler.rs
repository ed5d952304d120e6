//! One change event in, at most one email out: the [`Handler`] the shared consume loop drives.
//!
//! A customer event first updates the customer's contact (see `contacts`), then is mailed to
//! the customer. An order execution is mailed to its customer's contact; one without a
//! customer, or whose customer the notifier does not know (never created, or deleted), sends
//! nothing and is counted in `notifier_executions_unaddressed_total`.
//!
//! Mailing is: render → claim in the ledger → send (retrying with exponential backoff and
//! jitter) → mark sent. After the last attempt the failure is published to
//! `notifications.failed` and the row marked failed, and the loop moves on. The ledger module
//! documents why this order sends a completed email once and never loses a pending one.
//!
//! Outcomes: an undecodable or unmailable event is [`Outcome::Poison`] (dead-lettered); a
//! database or schema registry that does not answer is [`Outcome::Retry`] (the same event
//! again, never skipped); everything else is [`Outcome::Done`].
//!
//! Events arrive as JSON or as Avro in Confluent's wire format, told apart per message by the
//! first byte (see `codec::EventDecoder`), so a topic migrating between formats is read
//! throughout.

use crate::{
    contacts::{self, CustomerContacts},
    email::{self, Email},
    execution,
    ledger::Ledger,
    mailer::{Mailer, SendError},
};
use codec::{DecodeError, EventDecoder};
use events::ChangeEvent;
use kafka::consume::{Handler, Incoming, Outcome, RetryPolicy};
use rdkafka::{
    message::{Header, OwnedHeaders},
    producer::{FutureProducer, FutureRecord},
};
use runtime::Shutdown;
use serde::Serialize;
use std::{future::Future, time::Duration};
use uuid::Uuid;

/// Counter names, described once at startup so they show in `/metrics` from the start.
pub const SENT: &str = "notifier_sent_total";
pub const RETRIED: &str = "notifier_retried_total";
pub const FAILED: &str = "notifier_failed_total";
pub const SKIPPED_DUPLICATE: &str = "notifier_skipped_duplicate_total";
/// Order executions not mailed, by `reason`: `no_customer` (the order had none) or
/// `unknown_customer` (no contact for its customer id).
pub const UNADDRESSED: &str = "notifier_executions_unaddressed_total";

pub fn describe_metrics() {
    for (name, help) in [
        (SENT, "Emails the SMTP server accepted."),
        (RETRIED, "Delivery attempts that failed and were retried."),
        (
            FAILED,
            "Emails given up on and reported on notifications.failed.",
        ),
        (
            SKIPPED_DUPLICATE,
            "Redelivered events whose email was already sent or failed.",
        ),
    ] {
        metrics::describe_counter!(name, help);
        metrics::counter!(name).absolute(0);
    }
    metrics::describe_counter!(
        UNADDRESSED,
        "Order executions not mailed because the order had no customer or the customer is unknown."
    );
    for reason in ["no_customer", "unknown_customer"] {
        metrics::counter!(UNADDRESSED, "reason" => reason).absolute(0);
    }
}

/// Reports emails that could not be delivered on `notifications.failed`.
pub struct FailureReporter {
    producer: FutureProducer,
    topic: String,
}

/// The value of a `notifications.failed` record.
#[derive(Debug, Clone, Serialize)]
pub struct FailedNotification<'a> {
    pub event_id: Uuid,
    pub event_type: &'a str,
    pub aggregate_id: &'a str,
    pub to: String,
    pub subject: &'a str,
    pub reason: &'a str,
    pub attempts: u32,
    pub failed_at: chrono::DateTime<chrono::Utc>,
}

impl FailureReporter {
    pub fn new(producer: FutureProducer, topic: String) -> Self {
        Self { producer, topic }
    }

    async fn publish(&self, failure: &FailedNotification<'_>) -> Result<(), String> {
        let value = serde_json::to_vec(failure).map_err(|e| e.to_string())?;
        let (event_id, attempts) = (failure.event_id.to_string(), failure.attempts.to_string());
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "notification.event_id",
                value: Some(&event_id),
            })
            .insert(Header {
                key: "notification.event_type",
                value: Some(failure.event_type),
            })
            .insert(Header {
                key: "notification.reason",
                value: Some(failure.reason),
            })
            .insert(Header {
                key: "notification.attempts",
                value: Some(&attempts),
            });
        let record = FutureRecord::to(&self.topic)
            .key(failure.aggregate_id)
            .payload(&value)
            .headers(headers);
        self.producer
            .send(record, Duration::from_secs(10))
            .await
            .map(|_| ())
            .map_err(|(e, _)| format!("publishing to {}: {e}", self.topic))
    }
}

/// How delivery retries are paced.
#[derive(Debug, Clone, Copy)]
pub struct Attempts {
    /// Attempts per email before giving up (at least 1).
    pub max: u32,
    /// Delay before attempt n+1 is `backoff.delay(n - 1)`.
    pub backoff: RetryPolicy,
}

pub struct NotificationHandler {
    ledger: Ledger,
    contacts: CustomerContacts,
    mailer: Mailer,
    failures: FailureReporter,
    attempts: Attempts,
    shutdown: Shutdown,
    decoder: EventDecoder,
}

/// How the delivery attempts for one email ended.
enum Delivery {
    Sent {
        attempts: u32,
    },
    GaveUp {
        attempts: u32,
        reason: String,
    },
    /// Shutdown came while waiting to retry; the email is still pending.
    Interrupted,
}

impl NotificationHandler {
    pub fn new(
        ledger: Ledger,
        contacts: CustomerContacts,
        mailer: Mailer,
        failures: FailureReporter,
        attempts: Attempts,
        shutdown: Shutdown,
        decoder: EventDecoder,
    ) -> Self {
        Self {
            ledger,
            contacts,
            mailer,
            failures,
            attempts,
            shutdown,
            decoder,
        }
    }

    async fn notify(&self, event: &ChangeEvent, email: &Email) -> Outcome {
        let to = email.to.email.to_string();
        match self.ledger.claim(event.id, &to, &email.subject).await {
            Err(e) => return Outcome::Retry(e.to_string()),
            Ok(status) if status.is_final() => {
                metrics::counter!(SKIPPED_DUPLICATE).increment(1);
                tracing::info!(event_id = %event.id, ?status, "already notified; skipping");
                return Outcome::Done;
            }
            Ok(_) => {}
        }
        match self.deliver(event.id, email).await {
            Delivery::Sent { attempts } => {
                let marked = self
                    .persist("marking the notification sent", || {
                        self.ledger.mark_sent(event.id, attempts)
                    })
                    .await;
                if marked.is_none() {
                    return Outcome::Retry("shutting down before the send was recorded".into());
                }
                metrics::counter!(SENT).increment(1);
                tracing::info!(event_id = %event.id, event_type = %event.event_type, %to, attempts, "email sent");
                Outcome::Done
            }
            Delivery::GaveUp { attempts, reason } => {
                let failure = FailedNotification {
                    event_id: event.id,
                    event_type: &event.event_type,
                    aggregate_id: &event.aggregate_id,
                    to: to.clone(),
                    subject: &email.subject,
                    reason: &reason,
                    attempts,
                    failed_at: chrono::Utc::now(),
                };
                // Published before the row says failed: a crash in between repeats the
                // attempts and the report (at least once), it never loses the report.
                let reported = self
                    .persist("reporting the failed notification", || {
                        self.failures.publish(&failure)
                    })
                    .await;
                let marked = match reported {
                    Some(()) => {
                        self.persist("marking the notification failed", || {
                            self.ledger.mark_failed(event.id, attempts, &reason)
                        })
                        .await
                    }
                    None => None,
                };
                if marked.is_none() {
                    return Outcome::Retry("shutting down before the failure was recorded".into());
                }
                metrics::counter!(FAILED).increment(1);
                tracing::error!(event_id = %event.id, %to, attempts, %reason, "giving up on the email; reported on notifications.failed");
                Outcome::Done
            }
            Delivery::Interrupted => Outcome::Retry("shutting down during delivery retries".into()),
        }
    }

    /// Sends with up to `attempts.max` attempts; a permanent refusal ends early.
    async fn deliver(&self, event_id: Uuid, email: &Email) -> Delivery {
        let mut attempt = 1;
        loop {
            let reason = match self.mailer.send(event_id, email).await {
                Ok(()) => return Delivery::Sent { attempts: attempt },
                Err(SendError::Permanent(reason)) => {
                    return Delivery::GaveUp {
                        attempts: attempt,
                        reason: format!("rejected: {reason}"),
                    }
                }
                Err(SendError::Transient(reason)) => reason,
            };
            if attempt >= self.attempts.max {
                return Delivery::GaveUp {
                    attempts: attempt,
                    reason,
                };
            }
            let delay = self.attempts.backoff.delay(attempt - 1);
            metrics::counter!(RETRIED).increment(1);
            tracing::warn!(%event_id, attempt, max_attempts = self.attempts.max,
                retry_in_ms = delay.as_millis() as u64, %reason, "sending failed; retrying");
            if !self.pause(delay).await {
                return Delivery::Interrupted;
            }
            attempt += 1;
        }
    }

    /// Runs `step` until it succeeds, backing off between tries; `None` if shutdown came
    /// first. For the bookkeeping after a send, which must not be skipped, and which is
    /// retried here rather than by handing the message back (that would send it again).
    async fn persist<T, E, Fut>(&self, what: &str, mut step: impl FnMut() -> Fut) -> Option<T>
    where
        E: std::fmt::Display,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut attempt = 0;
        loop {
            match step().await {
                Ok(value) => return Some(value),
                Err(e) => {
                    let delay = self.attempts.backoff.delay(attempt);
                    attempt += 1;
                    tracing::warn!(error = %e, attempt, retry_in_ms = delay.as_millis() as u64, "{what} failed; retrying");
                    if !self.pause(delay).await {
                        return None;
                    }
                }
            }
        }
    }

    /// Sleeps for `delay`; false if shutdown was requested meanwhile.
    async fn pause(&self, delay: Duration) -> bool {
        tokio::select! {
            _ = self.shutdown.requested() => false,
            _ = tokio::time::sleep(delay) => true,
        }
    }
}

impl NotificationHandler {
    /// Keeps the contact up to date, then mails the customer about the change.
    async fn on_customer(&self, event: &ChangeEvent) -> Outcome {
        let email = match email::render(event) {
            Ok(email) => email,
            Err(e) => return Outcome::Poison(format!("event {}: {e}", event.id)),
        };
        let change = match contacts::change_of(event) {
            Ok(change) => change,
            Err(e) => return Outcome::Poison(format!("event {}: {e}", event.id)),
        };
        if let Err(e) = self.contacts.apply(&change).await {
            return Outcome::Retry(e.to_string());
        }
        match email {
            Some(email) => self.notify(event, &email).await,
            None => {
                tracing::debug!(event_id = %event.id, event_type = %event.event_type, "nothing to tell the customer");
                Outcome::Done
            }
        }
    }

    /// Mails the order's customer, if the order had one and the notifier knows them.
    async fn on_execution(&self, event: &ChangeEvent) -> Outcome {
        let order = match execution::read(event) {
            Ok(Some(order)) => order,
            Ok(None) => return Outcome::Done,
            Err(e) => return Outcome::Poison(format!("event {}: {e}", event.id)),
        };
        let Some(customer_id) = order.customer_id else {
            metrics::counter!(UNADDRESSED, "reason" => "no_customer").increment(1);
            tracing::info!(event_id = %event.id, order_id = %order.order_id, "executed order without a customer; nobody to tell");
            return Outcome::Done;
        };
        let contact = match self.contacts.find(customer_id).await {
            Ok(Some(contact)) => contact,
            Ok(None) => {
                metrics::counter!(UNADDRESSED, "reason" => "unknown_customer").increment(1);
                tracing::warn!(event_id = %event.id, order_id = %order.order_id, %customer_id, "executed order of an unknown customer; not mailed");
                return Outcome::Done;
            }
            Err(e) => return Outcome::Retry(e.to_string()),
        };
        match email::order_executed(&contact, &order) {
            Ok(email) => self.notify(event, &email).await,
            Err(e) => Outcome::Poison(format!("event {}: {e}", event.id)),
        }
    }
}

impl Handler for NotificationHandler {
    async fn handle(&mut self, message: &Incoming<'_>) -> Outcome {
        let event = match self.decoder.decode(message.payload).await {
            Ok(event) => event,
            Err(DecodeError::Malformed(reason)) => return Outcome::Poison(reason),
            Err(e @ DecodeError::Unavailable(_)) => return Outcome::Retry(e.to_string()),
        };
        if event.aggregate_type == execution::AGGREGATE {
            self.on_execution(&event).await
        } else {
            self.on_customer(&event).await
        }
    }
}
