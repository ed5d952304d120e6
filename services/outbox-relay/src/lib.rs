//! outbox-relay: moves committed events from a service's outbox table to Kafka.
//!
//! `leader` makes one instance the publisher (a PostgreSQL advisory lock), `relay` runs the
//! drain loop (`RELAY_CAPTURE=poll`), `wal` streams the outbox's inserts from a logical
//! replication slot instead (`RELAY_CAPTURE=wal`), `publisher` sends a batch and reports how
//! much of it the broker acknowledged.

pub mod config;
pub mod leader;
pub mod publisher;
pub mod relay;
pub mod startup;
pub mod wal;
