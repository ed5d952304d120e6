//! The behaviour every resource shares (`test_support::conformance`), for orders (which are
//! placed once and never change).

mod common;

use serde_json::{json, Value};
use test_support::conformance::Resource;

fn order(n: usize) -> Value {
    json!({"symbol": "AAPL", "quantity": n + 1, "customer_id": "0193a1b2-0000-7000-8000-00000000c0de"})
}

const ORDERS: Resource = Resource {
    kind: "order",
    service: "order-api",
    collection: "/api/v1/orders",
    docs: "/api/v1/orders",
    table: "orders",
    writes_metric: "order_api_orders_created_total",
    create: order,
    change: None,
};

test_support::conformance_tests!(common::spawn_app, ORDERS);
