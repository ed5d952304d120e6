//! One resource layer for every CRUD API.
//!
//! A resource is a table of rows that change one at a time, each change recorded in the outbox
//! in the same transaction. What every resource does alike is written here once:
//! - [`store`]: the transactions (lock the live row, check `If-Match`, write, record the event,
//!   soft delete, count the write), keyset paging, and constraint violations turned into 409/422;
//! - [`http`]: the six handlers (create, list, get, replace, patch, delete) with their ETags,
//!   paging and problem responses, and [`openapi`] their operations in the API's document;
//! - [`snapshot`]: `r` events for the live rows on demand, chunked, resumable, beside writes.
//!
//! An API keeps only what is its own: its table and row type, its domain parsing, its listing
//! filters and its rules (a cast that movies still name, an email that must be unique), by
//! implementing [`Collection`], [`Creatable`] and [`Mutable`].

pub mod http;
pub mod openapi;
pub mod snapshot;
pub mod store;

/// The migrations of the shared layer's own table (`snapshots`); run them beside the API's.
pub const MIGRATIONS: diesel_migrations::EmbeddedMigrations =
    diesel_migrations::embed_migrations!("migrations");

pub use openapi::{Docs, Endpoint};
pub use snapshot::{KeyRange, SnapshotArgs, Snapshots};
pub use store::{Collection, Conn, Creatable, Lock, Mutable, Store, StoreError};
