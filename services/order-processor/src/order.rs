//! An order as the processor needs it, read from an `orders` change event.
//!
//! What the processor does with each event:
//! - `order.created` (and a snapshot read `r`): price it;
//! - any other operation: nothing (orders are immutable; an update or delete is not a new
//!   order to execute);
//! - anything that is not an order event, or an order image that cannot be read: poison.

use events::{ChangeEvent, Op};
use serde::Deserialize;
use uuid::Uuid;

pub const AGGREGATE: &str = "order";

/// An order to be priced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedOrder {
    pub id: Uuid,
    pub symbol: String,
    pub quantity: i32,
    pub customer_id: Option<Uuid>,
}

/// What an event asks of the processor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Price(PlacedOrder),
    /// Not a new order (e.g. an update); nothing to do.
    Ignore(&'static str),
}

/// The fields of the order image the processor reads; others are ignored.
#[derive(Debug, Deserialize)]
struct OrderImage {
    id: Uuid,
    symbol: String,
    quantity: i64,
    #[serde(default)]
    customer_id: Option<Uuid>,
}

/// What to do with `event`, or why it can never be handled.
pub fn decide(event: &ChangeEvent) -> Result<Decision, String> {
    if event.aggregate_type != AGGREGATE {
        return Err(format!(
            "not an order event (aggregate_type {:?})",
            event.aggregate_type
        ));
    }
    // Only a placed order is executed. A snapshot's `r` re-states an order that exists: placed
    // through the API (its `c` event prices it) or loaded around it, never placed.
    if event.op != Op::Create {
        return Ok(Decision::Ignore("not a new order"));
    }
    let after = event.after.clone().ok_or_else(|| {
        format!(
            "event {}: an order {:?} without its after image",
            event.id, event.op
        )
    })?;
    let image: OrderImage = serde_json::from_value(after)
        .map_err(|e| format!("event {}: not an order image: {e}", event.id))?;
    if image.id.to_string() != event.aggregate_id {
        return Err(format!(
            "event {}: order id {} differs from aggregate_id {}",
            event.id, image.id, event.aggregate_id
        ));
    }
    if image.symbol.trim().is_empty() {
        return Err(format!("event {}: the order has no symbol", event.id));
    }
    let quantity = i32::try_from(image.quantity)
        .ok()
        .filter(|q| *q >= 1)
        .ok_or_else(|| {
            format!(
                "event {}: quantity {} is not a positive 32-bit number",
                event.id, image.quantity
            )
        })?;
    Ok(Decision::Price(PlacedOrder {
        id: image.id,
        symbol: image.symbol,
        quantity,
        customer_id: image.customer_id,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use events::Source;
    use serde_json::{json, Value};

    fn event(op: Op, after: Option<Value>) -> ChangeEvent {
        ChangeEvent {
            id: Uuid::now_v7(),
            event_type: ChangeEvent::type_name("order", op),
            op,
            aggregate_type: "order".into(),
            aggregate_id: "0193a1b2-0000-7000-8000-000000000001".into(),
            version: 1,
            before: None,
            after,
            source: Source {
                service: "order-api".into(),
                table: "orders".into(),
                tx_id: 1,
                committed_at: Utc::now(),
            },
            occurred_at: Utc::now(),
        }
    }

    fn order(extra: Value) -> Value {
        let mut image = json!({
            "id": "0193a1b2-0000-7000-8000-000000000001",
            "symbol": "AAPL",
            "quantity": 5,
            "customer_id": null,
            "created_at": "2026-01-01T00:00:00Z",
        });
        image
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        image
    }

    #[test]
    fn a_created_order_is_priced() {
        let customer = "0193a1b2-0000-7000-8000-00000000c0de";
        let decision = decide(&event(
            Op::Create,
            Some(order(json!({"customer_id": customer}))),
        ))
        .unwrap();
        assert_eq!(
            decision,
            Decision::Price(PlacedOrder {
                id: Uuid::parse_str("0193a1b2-0000-7000-8000-000000000001").unwrap(),
                symbol: "AAPL".into(),
                quantity: 5,
                customer_id: Some(Uuid::parse_str(customer).unwrap()),
            })
        );
    }

    #[test]
    fn snapshot_reads_updates_and_deletes_are_ignored() {
        assert!(matches!(
            decide(&event(Op::Read, Some(order(json!({}))))),
            Ok(Decision::Ignore(_))
        ));
        assert!(matches!(
            decide(&event(Op::Update, Some(order(json!({}))))),
            Ok(Decision::Ignore(_))
        ));
        assert!(matches!(
            decide(&event(Op::Delete, None)),
            Ok(Decision::Ignore(_))
        ));
    }

    #[test]
    fn unreadable_orders_say_why() {
        let bad = [
            event(Op::Create, None),
            event(Op::Create, Some(json!({"symbol": "X"}))),
            event(Op::Create, Some(order(json!({"quantity": 0})))),
            event(
                Op::Create,
                Some(order(json!({"quantity": 5_000_000_000_i64}))),
            ),
            event(Op::Create, Some(order(json!({"quantity": "5"})))),
            event(Op::Create, Some(order(json!({"symbol": " "})))),
            event(Op::Create, Some(order(json!({"customer_id": "nope"})))),
            event(
                Op::Create,
                Some(order(json!({"id": "0193a1b2-0000-7000-8000-000000000002"}))),
            ),
        ];
        for e in bad {
            assert!(decide(&e).is_err(), "{:?}", e.after);
        }
        let mut customer = event(Op::Create, Some(order(json!({}))));
        customer.aggregate_type = "customer".into();
        assert!(decide(&customer)
            .unwrap_err()
            .contains("not an order event"));
    }
}
