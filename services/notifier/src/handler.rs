//! One change event in, at most one email out: the [`Handler`] the shared consume loop drives.
//!
//! A customer event first updates the customer's contact (see `contacts`), then mails the
//! executions held for that customer (see `held`), then is mailed to the customer. An order
//! execution is mailed to its customer's contact; one whose customer has not arrived yet is
//! held until it does; one without a customer, whose customer was deleted, or who has no
//! address that can be mailed, sends nothing and is counted in
//! `notifier_executions_unaddressed_total`. An address that cannot be mailed is "no contact",
//! never a poison message: the contact change still applies.
//!
//! Mailing is: render → claim in the ledger → send (retrying with exponential backoff and
//! jitter) → mark sent. An SMTP server that does not answer (down, unreachable, timing out) is
//! an outage: it is retried for as long as it lasts, never counted against the email, and
//! shown by `notifier_smtp_unavailable`. Only the server's refusal of this message (a 4xx or
//! 5xx reply) counts an attempt; after the last one the failure is published to
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
    contacts::{self, CustomerContacts, Lookup},
    email::{self, Email, RenderError},
    execution,
    held::HeldExecutions,
    ledger::Ledger,
    mailer::{Mailer, SendError},
};
use codec::{DecodeError, EventDecoder};
use events::ChangeEvent;
use kafka::consume::{Handler, Incoming, Outcome};
use rdkafka::{
    message::{Header, OwnedHeaders},
    producer::{FutureProducer, FutureRecord},
};
use runtime::backoff::Backoff;
use runtime::Shutdown;
use serde::Serialize;
use std::{future::Future, time::Duration};
use uuid::Uuid;

/// Counter names, described once at startup so they show in `/metrics` from the start.
pub const SENT: &str = "notifier_sent_total";
pub const RETRIED: &str = "notifier_retried_total";
pub const FAILED: &str = "notifier_failed_total";
pub const SKIPPED_DUPLICATE: &str = "notifier_skipped_duplicate_total";
/// Order executions not mailed, by `reason`: `no_customer` (the order had none),
/// `customer_deleted` or `no_address` (the customer has no address that can be mailed).
pub const UNADDRESSED: &str = "notifier_executions_unaddressed_total";
/// Order executions held until their customer's contact arrives.
pub const HELD: &str = "notifier_executions_held_total";
/// 1 while the SMTP server does not answer (an outage being waited out), else 0.
pub const SMTP_UNAVAILABLE: &str = "notifier_smtp_unavailable";

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
        (
            HELD,
            "Order executions held until their customer's contact arrived.",
        ),
    ] {
        metrics::describe_counter!(name, help);
        metrics::counter!(name).absolute(0);
    }
    metrics::describe_gauge!(
        SMTP_UNAVAILABLE,
        "1 while the SMTP server does not answer and delivery waits for it."
    );
    metrics::gauge!(SMTP_UNAVAILABLE).set(0.0);
    metrics::describe_counter!(
        UNADDRESSED,
        "Order executions not mailed: the order had no customer, the customer was deleted or has no address that can be mailed."
    );
    for reason in ["no_customer", "customer_deleted", "no_address"] {
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
    pub backoff: Backoff,
}

pub struct NotificationHandler {
    ledger: Ledger,
    contacts: CustomerContacts,
    held: HeldExecutions,
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
            held: contacts.held(),
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

    /// Sends until the server takes the email, waiting out any outage; up to `attempts.max`
    /// refusals of the message itself.
    async fn deliver(&self, event_id: Uuid, email: &Email) -> Delivery {
        let mut refusals = 0;
        let mut outage_tries = 0u32;
        loop {
            let result = self.mailer.send(event_id, email).await;
            metrics::gauge!(SMTP_UNAVAILABLE)
                .set(f64::from(matches!(result, Err(SendError::Unavailable(_)))));
            let delay = match result {
                Ok(()) => {
                    return Delivery::Sent {
                        attempts: refusals + 1,
                    }
                }
                Err(SendError::Unavailable(reason)) => {
                    let delay = self.attempts.backoff.delay(outage_tries);
                    outage_tries = outage_tries.saturating_add(1);
                    tracing::warn!(%event_id, retry_in_ms = delay.as_millis() as u64, %reason,
                        "the SMTP server does not answer; waiting for it");
                    delay
                }
                Err(SendError::Permanent(reason) | SendError::Transient(reason)) => {
                    refusals += 1;
                    outage_tries = 0;
                    if refusals >= self.attempts.max {
                        return Delivery::GaveUp {
                            attempts: refusals,
                            reason: format!("rejected: {reason}"),
                        };
                    }
                    let delay = self.attempts.backoff.delay(refusals - 1);
                    tracing::warn!(%event_id, attempt = refusals, max_attempts = self.attempts.max,
                        retry_in_ms = delay.as_millis() as u64, %reason, "the SMTP server refused the email; retrying");
                    delay
                }
            };
            metrics::counter!(RETRIED).increment(1);
            if !self.pause(delay).await {
                return Delivery::Interrupted;
            }
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
    /// Keeps the contact up to date, mails what waited for it, then mails the customer about
    /// the change.
    async fn on_customer(&self, event: &ChangeEvent) -> Outcome {
        let change = match contacts::change_of(event) {
            Ok(change) => change,
            Err(e) => return Outcome::Poison(format!("event {}: {e}", event.id)),
        };
        if let Err(e) = self.contacts.apply(&change).await {
            return Outcome::Retry(e.to_string());
        }
        if let outcome @ (Outcome::Retry(_) | Outcome::Poison(_)) =
            self.release_held(change.customer_id()).await
        {
            return outcome;
        }
        match email::render(event) {
            Ok(Some(email)) => self.notify(event, &email).await,
            Ok(None) => {
                tracing::debug!(event_id = %event.id, event_type = %event.event_type, "nothing to tell the customer");
                Outcome::Done
            }
            Err(e @ (RenderError::NoAddress | RenderError::InvalidAddress(..))) => {
                tracing::warn!(event_id = %event.id, error = %e, "no address that can be mailed; nothing sent");
                Outcome::Done
            }
            Err(e) => Outcome::Poison(format!("event {}: {e}", event.id)),
        }
    }

    /// Mails the executions held for `customer_id`, now that its contact arrived (or counts
    /// them unaddressed when it cannot be mailed); each is released once dealt with.
    async fn release_held(&self, customer_id: Uuid) -> Outcome {
        let held = match self.held.of(customer_id).await {
            Ok(held) if held.is_empty() => return Outcome::Done,
            Ok(held) => held,
            Err(e) => return Outcome::Retry(e.to_string()),
        };
        let lookup = match self.contacts.find(customer_id).await {
            Ok(lookup) => lookup,
            Err(e) => return Outcome::Retry(e.to_string()),
        };
        for event in held {
            tracing::info!(event_id = %event.id, %customer_id, "the customer arrived; releasing the held execution");
            match self.on_execution(&event).await {
                Outcome::Done => {}
                other => return other,
            }
            if !matches!(lookup, Lookup::Unknown) {
                if let Err(e) = self.held.release(event.id).await {
                    return Outcome::Retry(e.to_string());
                }
            }
        }
        Outcome::Done
    }

    /// Mails the order's customer; holds the execution while the customer is not known yet.
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
        let unaddressed = |reason: &'static str| {
            metrics::counter!(UNADDRESSED, "reason" => reason).increment(1);
            tracing::warn!(event_id = %event.id, order_id = %order.order_id, %customer_id, reason, "executed order not mailed");
            Outcome::Done
        };
        match self.contacts.find(customer_id).await {
            Ok(Lookup::Mailable(contact)) => match email::order_executed(&contact, &order) {
                Ok(email) => self.notify(event, &email).await,
                Err(e) => Outcome::Poison(format!("event {}: {e}", event.id)),
            },
            Ok(Lookup::Unknown) => match self.held.hold(customer_id, event).await {
                Ok(newly) => {
                    if newly {
                        metrics::counter!(HELD).increment(1);
                    }
                    tracing::info!(event_id = %event.id, order_id = %order.order_id, %customer_id, "executed order of a customer not seen yet; held until they arrive");
                    Outcome::Done
                }
                Err(e) => Outcome::Retry(e.to_string()),
            },
            Ok(Lookup::Deleted) => unaddressed("customer_deleted"),
            Ok(Lookup::NoAddress) => unaddressed("no_address"),
            Err(e) => Outcome::Retry(e.to_string()),
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
