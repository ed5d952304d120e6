//! movie-api: movies and their casts over REST, each write recorded in the transactional outbox
//! (topics `movies` and `casts`).
//!
//! `domain` parses input into valid types, `store` runs each write and its outbox event in one
//! transaction (and keeps movies and casts consistent with each other), `http` maps requests and
//! errors, `startup` wires it together for `main` and tests.

pub mod config;
pub mod domain;
pub mod http;
pub mod startup;
pub mod store;
