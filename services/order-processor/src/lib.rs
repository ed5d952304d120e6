//! order-processor: prices every new order and publishes the execution.
//!
//! It consumes the `orders` topic through the shared consume loop. `order` reads an order out
//! of its change event, `pricing` (pure) decides the price from the order id, `store` writes the
//! execution and its `order-execution.created` outbox event in one transaction (a redelivered
//! order is a no-op), `handler` maps all that onto the loop's outcomes, `http` serves
//! `/metrics/orders`, and `startup` wires it together for `main` and tests.

pub mod config;
pub mod handler;
pub mod http;
pub mod order;
pub mod pricing;
pub mod startup;
pub mod store;
