//! notifier: emails customers about changes to their record, and about their executed orders.
//!
//! It consumes the `customers` and `order-executions` topics through the shared consume loop.
//! For each change event `email` renders the message (pure: no I/O), `ledger` records in the
//! notifier's own database that the event was taken on and how it ended, `mailer` speaks SMTP,
//! and `handler` runs the once-only protocol between them (retries, then a report on
//! `notifications.failed`). `contacts` keeps each customer's address from the customer events,
//! since an execution (read by `execution`) names only its customer's id, and `held` keeps the
//! executions that arrive before their customer does. `startup` wires it
//! together for `main` and for tests.

pub mod config;
pub mod contacts;
pub mod email;
pub mod execution;
pub mod handler;
pub mod held;
pub mod ledger;
pub mod mailer;
pub mod startup;
