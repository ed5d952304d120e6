//! A console consumer for the native platform, where Apache Kafka's own
//! `kafka-console-consumer` is not installed: the same everyday flags, one value per line.

pub mod cli;
pub mod consume;
pub mod format;
