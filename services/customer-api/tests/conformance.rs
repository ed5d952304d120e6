//! The behaviour every resource shares (`test_support::conformance`), for customers.

mod common;

test_support::conformance_tests!(changes: common::spawn_app, common::CUSTOMERS);
