//! schema-registry: a Confluent-compatible Schema Registry REST API for Avro, kept in PostgreSQL.
//!
//! Producers register the schema of what they write under a subject (`<topic>-value`) and put
//! the schema's global id in front of every message; consumers fetch the schema by that id.
//! The registry refuses a new version that would break the subject's readers or writers,
//! according to the subject's compatibility level.
//!
//! - [`schema`] parses a submitted schema into an [`schema::AvroSchema`] (valid Avro, with the
//!   normalised form that decides whether two submissions are the same schema);
//! - [`compatibility`] holds the levels and decides whether a schema may follow others;
//! - [`store`] keeps schemas, subject versions and levels in PostgreSQL (diesel);
//! - [`http`] is the REST surface, one module per resource group; [`error`] is the one error
//!   type and its mapping to Confluent's `{"error_code", "message"}` bodies;
//! - [`startup`] wires it together for `main` and for the tests.

pub mod compatibility;
pub mod config;
pub mod error;
pub mod http;
pub mod in_use;
pub mod schema;
pub mod startup;
pub mod store;
