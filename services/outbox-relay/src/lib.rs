//! outbox-relay: moves committed events from a service's outbox table to Kafka.
//!
//! `leader` makes one instance the publisher (a PostgreSQL advisory lock), `relay` runs the
//! drain loop, `publisher` sends a batch and reports how much of it the broker acknowledged.

pub mod config;
pub mod leader;
pub mod publisher;
pub mod relay;
pub mod startup;
