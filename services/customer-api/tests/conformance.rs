//! The behaviour every resource shares (`test_support::conformance`), for customers.

mod common;

use serde_json::{json, Value};
use test_support::conformance::{Change, Resource};

fn customer(n: usize) -> Value {
    json!({"name": format!("Customer {n}"), "email": format!("customer{n}@example.com"), "phone": "+1 555-0100"})
}

fn renamed(n: usize) -> Value {
    json!({"name": format!("Renamed {n}"), "email": format!("renamed{n}@example.com"), "phone": null})
}

const CUSTOMERS: Resource = Resource {
    kind: "customer",
    service: "customer-api",
    collection: "/api/v1/customers",
    docs: "/api/v1/customers",
    table: "customers",
    writes_metric: "customer_api_writes_total",
    create: customer,
    change: Some(Change {
        replace: renamed,
        patch: || json!({"name": "Patched"}),
    }),
};

test_support::conformance_tests!(changes: common::spawn_app, CUSTOMERS);
