//! replicator: keeps a MongoDB read model of every aggregate, one collection per topic.
//!
//! `read_model` applies one change event under a version guard, `handler` turns Kafka messages
//! into those calls and failures into retry or dead-letter decisions, `startup` wires the
//! shared consume loop, health and metrics.

pub mod config;
pub mod handler;
pub mod read_model;
pub mod startup;
