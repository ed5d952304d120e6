//! One order event in, at most one execution out: the [`Handler`] the shared consume loop
//! drives.
//!
//! Messages are JSON or Avro (Confluent wire format), told apart per message by the first byte
//! (see `codec::EventDecoder`), so a topic migrating between formats is read throughout.
//!
//! Outcomes: an undecodable message or an unreadable order is [`Outcome::Poison`]
//! (dead-lettered to `orders.dlq`); a database or schema registry that does not answer is
//! [`Outcome::Retry`] (the same message again, never skipped); a priced order, a redelivered one (no-op) and an event
//! that is not a new order are [`Outcome::Done`].

use crate::{
    order::{self, Decision},
    pricing::ExecutionPricer,
    store::{ExecutionStore, Recorded},
};
use codec::{DecodeError, EventDecoder};
use kafka::consume::{Handler, Incoming, Outcome};

/// Counter names, described once at startup so they show in `/metrics` from the start.
pub const PRICED: &str = "order_processor_priced_total";
pub const DUPLICATES: &str = "order_processor_duplicates_total";
pub const IGNORED: &str = "order_processor_ignored_total";

pub fn describe_metrics() {
    for (name, help) in [
        (
            PRICED,
            "Orders priced: an execution and its event recorded.",
        ),
        (
            DUPLICATES,
            "Redelivered orders that were priced before (no-op).",
        ),
        (
            IGNORED,
            "Order events that are not new orders (updates, deletes).",
        ),
    ] {
        metrics::describe_counter!(name, help);
        metrics::counter!(name).absolute(0);
    }
}

pub struct ExecutionHandler {
    store: ExecutionStore,
    decoder: EventDecoder,
}

impl ExecutionHandler {
    pub fn new(store: ExecutionStore, decoder: EventDecoder) -> Self {
        Self { store, decoder }
    }
}

impl Handler for ExecutionHandler {
    async fn handle(&mut self, message: &Incoming<'_>) -> Outcome {
        let event = match self.decoder.decode(message.payload).await {
            Ok(event) => event,
            Err(DecodeError::Malformed(reason)) => return Outcome::Poison(reason),
            Err(e @ DecodeError::Unavailable(_)) => return Outcome::Retry(e.to_string()),
        };
        let order = match order::decide(&event) {
            Ok(Decision::Price(order)) => order,
            Ok(Decision::Ignore(why)) => {
                metrics::counter!(IGNORED).increment(1);
                tracing::debug!(event_id = %event.id, event_type = %event.event_type, why, "ignored");
                return Outcome::Done;
            }
            Err(reason) => return Outcome::Poison(reason),
        };
        let pricing = ExecutionPricer::price(order.id, order.quantity);
        match self.store.record(&order, pricing).await {
            Ok(Recorded::New(execution)) => {
                metrics::counter!(PRICED).increment(1);
                tracing::info!(order_id = %order.id, symbol = %order.symbol, quantity = order.quantity,
                    unit_price = %execution.unit_price, execution_price = %execution.execution_price, "order priced");
                Outcome::Done
            }
            Ok(Recorded::Duplicate) => {
                metrics::counter!(DUPLICATES).increment(1);
                tracing::info!(order_id = %order.id, "order priced before; skipping");
                Outcome::Done
            }
            Err(e) => Outcome::Retry(e.to_string()),
        }
    }
}
