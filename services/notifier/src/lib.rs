//! notifier: emails customers about changes to their record.
//!
//! It consumes the `customers` topic through the shared consume loop. For each change event
//! `email` renders the message (pure: no I/O), `ledger` records in the notifier's own database
//! that the event was taken on and how it ended, `mailer` speaks SMTP, and `handler` runs the
//! once-only protocol between them (retries, then a report on `notifications.failed`).
//! `startup` wires it together for `main` and for tests.

pub mod config;
pub mod email;
pub mod handler;
pub mod ledger;
pub mod mailer;
pub mod startup;
