//! An order execution as the notifier reads it from an `order-executions` change event
//! (written by order-processor): what was bought, how many, at what price, for whom.
//!
//! Only `order-execution.created` is news to the customer; other operations send nothing.
//! Prices travel as JSON numbers (or decimal strings) and are shown as exact decimals, never
//! through binary floating point: `8.6` is shown as `8.60`, `1.1` as a unit price as `1.1000`.

use events::{ChangeEvent, Op};
use serde_json::Value;
use uuid::Uuid;

pub const AGGREGATE: &str = "order-execution";

/// What the "Your order was executed" email tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutedOrder {
    pub order_id: String,
    pub symbol: String,
    pub quantity: i64,
    /// The price per unit, to 4 decimal places.
    pub unit_price: String,
    /// quantity × unit price, to the cent.
    pub execution_price: String,
    /// Who placed the order; `None` for an order without a customer.
    pub customer_id: Option<Uuid>,
}

/// The executed order in `event`, `None` if the event is not news to the customer, or why it
/// can never be read.
pub fn read(event: &ChangeEvent) -> Result<Option<ExecutedOrder>, String> {
    if event.aggregate_type != AGGREGATE {
        return Err(format!(
            "not an order execution (aggregate_type {:?})",
            event.aggregate_type
        ));
    }
    if event.op != Op::Create {
        return Ok(None);
    }
    let after = event
        .after
        .as_ref()
        .and_then(Value::as_object)
        .ok_or("an order execution without its after image")?;
    let field = |key: &str| after.get(key).filter(|v| !v.is_null());
    let missing = |key: &str| format!("the order execution has no valid {key}");
    let symbol = field("symbol")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| missing("symbol"))?;
    let quantity = field("quantity")
        .and_then(Value::as_i64)
        .filter(|q| *q > 0)
        .ok_or_else(|| missing("quantity"))?;
    let unit_price = field("unit_price")
        .and_then(|v| decimal(v, 4))
        .ok_or_else(|| missing("unit_price"))?;
    let execution_price = field("execution_price")
        .and_then(|v| decimal(v, 2))
        .ok_or_else(|| missing("execution_price"))?;
    let customer_id = match field("customer_id") {
        None => None,
        Some(v) => Some(
            v.as_str()
                .and_then(|s| Uuid::parse_str(s).ok())
                .ok_or_else(|| missing("customer_id"))?,
        ),
    };
    let order_id = field("order_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    Ok(Some(ExecutedOrder {
        order_id,
        symbol: symbol.to_owned(),
        quantity,
        unit_price,
        execution_price,
        customer_id,
    }))
}

/// A non-negative decimal number or decimal string, with at least `places` decimals (padded
/// with zeros, never rounded).
fn decimal(value: &Value, places: usize) -> Option<String> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_owned(),
        _ => return None,
    };
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) {
        return None; // signs and exponents are not prices
    }
    Some(format!("{whole}.{fraction:0<places$}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use events::Source;
    use serde_json::json;

    fn event(op: Op, after: Option<Value>) -> ChangeEvent {
        ChangeEvent {
            id: Uuid::now_v7(),
            event_type: ChangeEvent::type_name(AGGREGATE, op),
            op,
            aggregate_type: AGGREGATE.into(),
            aggregate_id: Uuid::now_v7().to_string(),
            version: 1,
            before: None,
            after,
            source: Source {
                service: "order-processor".into(),
                table: "order_executions".into(),
                tx_id: 1,
                committed_at: Utc::now(),
            },
            occurred_at: Utc::now(),
        }
    }

    fn execution(extra: Value) -> Value {
        let mut image = json!({
            "id": "0190a0e0-0000-7000-8000-0000000000e1",
            "order_id": "0190a0e0-0000-7000-8000-0000000000a1",
            "symbol": "AAPL",
            "quantity": 7,
            "customer_id": "0190a0e0-0000-7000-8000-000000000001",
            "unit_price": 1.1,
            "execution_price": 7.7,
            "priced_at": "2026-01-01T00:00:00Z",
        });
        image
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        image
    }

    #[test]
    fn a_created_execution_is_read_with_exact_decimal_prices() {
        let order = read(&event(Op::Create, Some(execution(json!({})))))
            .unwrap()
            .unwrap();
        assert_eq!(order.symbol, "AAPL");
        assert_eq!(order.quantity, 7);
        assert_eq!(order.unit_price, "1.1000");
        assert_eq!(order.execution_price, "7.70");
        assert_eq!(order.order_id, "0190a0e0-0000-7000-8000-0000000000a1");
        assert_eq!(
            order.customer_id,
            Some(Uuid::parse_str("0190a0e0-0000-7000-8000-000000000001").unwrap())
        );
        let strings = execution(json!({"unit_price": "1.2345", "execution_price": "12345.67"}));
        let order = read(&event(Op::Create, Some(strings))).unwrap().unwrap();
        assert_eq!(
            (order.unit_price.as_str(), order.execution_price.as_str()),
            ("1.2345", "12345.67")
        );
        let whole = read(&event(
            Op::Create,
            Some(execution(json!({"execution_price": 20000.0}))),
        ))
        .unwrap()
        .unwrap();
        assert_eq!(whole.execution_price, "20000.00");
    }

    #[test]
    fn an_execution_without_a_customer_is_read_as_such() {
        let order = read(&event(
            Op::Create,
            Some(execution(json!({"customer_id": null}))),
        ))
        .unwrap()
        .unwrap();
        assert_eq!(order.customer_id, None);
    }

    #[test]
    fn only_creations_are_news() {
        assert_eq!(
            read(&event(Op::Update, Some(execution(json!({}))))),
            Ok(None)
        );
        assert_eq!(read(&event(Op::Read, Some(execution(json!({}))))), Ok(None));
        assert_eq!(read(&event(Op::Delete, None)), Ok(None));
    }

    #[test]
    fn unreadable_executions_say_why() {
        for bad in [
            json!({"symbol": ""}),
            json!({"quantity": 0}),
            json!({"quantity": "7"}),
            json!({"unit_price": -1.5}),
            json!({"unit_price": 1e-7}),
            json!({"execution_price": null}),
            json!({"customer_id": "nope"}),
        ] {
            assert!(
                read(&event(Op::Create, Some(execution(bad.clone())))).is_err(),
                "{bad}"
            );
        }
        assert!(read(&event(Op::Create, None)).is_err());
        let mut customer = event(Op::Create, Some(execution(json!({}))));
        customer.aggregate_type = "customer".into();
        assert!(read(&customer).is_err());
    }
}
