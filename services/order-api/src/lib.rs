//! order-api: orders over REST, each one recorded in the transactional outbox, plus a generator
//! that places random orders at a steady rate for demos and load.
//!
//! `domain` parses input into valid types, `store` writes each order and its outbox event in one
//! transaction (the one way in, for the API and the generator alike), `generator` runs the
//! background order maker, `http` maps requests and errors, `startup` wires it together for
//! `main` and tests.

pub mod config;
pub mod domain;
pub mod generator;
pub mod http;
pub mod startup;
pub mod store;
