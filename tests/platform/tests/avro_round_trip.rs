//! Every event the platform writes round-trips through its topic's `.avsc`: rows serialized by
//! the services' own types, wrapped as `outbox::record` wraps them, encoded with the embedded
//! schema, decoded, and compared with the JSON event. A row that gains, loses or retypes a
//! field without its schema fails here.

use chrono::{DateTime, NaiveDate, SubsecRound, TimeZone, Utc};
use codec::{avro, schemas};
use events::{ChangeEvent, Op, Source};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

/// A commit time with microseconds, as PostgreSQL hands them out.
fn committed() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 18, 30, 15).unwrap()
        + chrono::Duration::microseconds(123_456)
}

/// What Avro keeps of a timestamp: `timestamp-millis`.
fn millis(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(3)
}

/// The event `outbox::record` writes for a change of `row`.
fn event<T: Serialize>(
    topic_aggregate: (&str, &str, &str),
    op: Op,
    version: i64,
    before: Option<&T>,
    after: Option<&T>,
    at: DateTime<Utc>,
) -> ChangeEvent {
    let (service, table, aggregate) = topic_aggregate;
    ChangeEvent {
        id: Uuid::now_v7(),
        event_type: ChangeEvent::type_name(aggregate, op),
        op,
        aggregate_type: aggregate.to_owned(),
        aggregate_id: Uuid::from_u128(42).to_string(),
        version,
        before: before.map(|r| serde_json::to_value(r).unwrap()),
        after: after.map(|r| serde_json::to_value(r).unwrap()),
        source: Source {
            service: service.to_owned(),
            table: table.to_owned(),
            tx_id: 9_876_543,
            committed_at: at,
        },
        occurred_at: at + chrono::Duration::microseconds(7),
    }
}

/// Encodes `event` with `topic`'s schema, decodes it, and checks that the JSON is `expected`
/// (the same event with millisecond timestamps) and still parses as the same `ChangeEvent`.
fn assert_round_trips(topic: &str, event: &ChangeEvent, expected: &ChangeEvent) {
    let schema = schemas::for_topic(topic).unwrap().schema();
    let json = serde_json::to_value(event).unwrap();
    let bytes =
        avro::encode(&json, schema).unwrap_or_else(|e| panic!("{topic} {}: {e}", event.event_type));
    let back = avro::decode(&bytes, schema).unwrap();
    let expected_json = serde_json::to_value(expected).unwrap();
    assert_eq!(back, expected_json, "{topic} {}", event.event_type);
    assert_eq!(
        &serde_json::from_value::<ChangeEvent>(back).unwrap(),
        expected
    );
}

/// Runs create, update, delete (and a snapshot read) of an aggregate whose row at time `t`
/// and version `v` is `row(t, v)`.
fn check_lifecycle<T: Serialize>(
    topic: &str,
    source: (&str, &str, &str),
    row: impl Fn(DateTime<Utc>, i64) -> T,
) {
    let t = committed();
    for (op, version, before, after) in [
        (Op::Create, 1, None, Some(1)),
        (Op::Update, 2, Some(1), Some(2)),
        (Op::Delete, 3, Some(2), None),
        (Op::Read, 2, None, Some(2)),
    ] {
        let at = |t: DateTime<Utc>| {
            let b = before.map(|v| row(t, v));
            let a = after.map(|v| row(t, v));
            let mut e = event(source, op, version, b.as_ref(), a.as_ref(), t);
            e.occurred_at = t + chrono::Duration::microseconds(7);
            e
        };
        let original = at(t);
        let mut expected = at(millis(t));
        expected.id = original.id;
        expected.occurred_at = millis(original.occurred_at);
        assert_round_trips(topic, &original, &expected);
    }
}

#[test]
fn customer_events_round_trip_through_customers_avsc() {
    check_lifecycle(
        "customers",
        ("customer-api", "customers", "customer"),
        |t, v| customer_api::store::Customer {
            id: Uuid::from_u128(42),
            name: format!("Mary Jackson {v}"),
            email: "mary@example.com".into(),
            phone: (v == 1).then(|| "+1 555-0100".into()),
            version: v,
            created_at: t,
            updated_at: t,
        },
    );
}

#[test]
fn movie_events_round_trip_through_movies_avsc() {
    check_lifecycle("movies", ("movie-api", "movies", "movie"), |t, v| {
        movie_api::store::Movie {
            id: Uuid::from_u128(42),
            title: "Seven Samurai".into(),
            plot: (v == 2).then(|| "Farmers hire samurai.".into()),
            genres: vec!["action".into(), "science-fiction".into()],
            cast_ids: (0..v as u128).map(Uuid::from_u128).collect(),
            release_year: (v == 1).then_some(1954),
            expiry_date: (v == 2).then(|| NaiveDate::from_ymd_opt(2027, 2, 28).unwrap()),
            version: v,
            created_at: t,
            updated_at: t,
        }
    });
}

#[test]
fn cast_events_round_trip_through_casts_avsc() {
    check_lifecycle("casts", ("movie-api", "casts", "cast"), |t, v| {
        movie_api::store::Cast {
            id: Uuid::from_u128(42),
            name: "Toshiro Mifune".into(),
            nationality: (v == 2).then(|| "Japanese".into()),
            version: v,
            created_at: t,
            updated_at: t,
        }
    });
}

#[test]
fn order_events_round_trip_through_orders_avsc() {
    check_lifecycle("orders", ("order-api", "orders", "order"), |t, v| {
        order_api::store::Order {
            id: Uuid::from_u128(42),
            symbol: "AAPL".into(),
            quantity: 10 * v as i32,
            customer_id: (v == 1).then(|| Uuid::from_u128(7)),
            created_at: t,
        }
    });
}

#[test]
fn order_execution_events_round_trip_through_order_executions_avsc() {
    use order_processor::pricing::{Cents, UnitPrice};
    check_lifecycle(
        "order-executions",
        ("order-processor", "order_executions", "order-execution"),
        |t, v| order_processor::store::Execution {
            id: Uuid::from_u128(42),
            order_id: Uuid::from_u128(43),
            symbol: "MSFT".into(),
            quantity: 3,
            customer_id: (v == 1).then(|| Uuid::from_u128(7)),
            unit_price: UnitPrice::from_ten_thousandths(12_345 + v),
            execution_price: Cents::new(37_035 + v),
            priced_at: t,
        },
    );
}

#[test]
fn a_row_field_the_schema_does_not_know_is_refused() {
    let schema = schemas::for_topic("customers").unwrap().schema();
    let mut json: Value = serde_json::to_value(event(
        ("customer-api", "customers", "customer"),
        Op::Create,
        1,
        None,
        Some(&serde_json::json!({})),
        committed(),
    ))
    .unwrap();
    json["after"] = serde_json::to_value(customer_api::store::Customer {
        id: Uuid::from_u128(1),
        name: "A".into(),
        email: "a@example.com".into(),
        phone: None,
        version: 1,
        created_at: committed(),
        updated_at: committed(),
    })
    .unwrap();
    json["after"]["loyalty_tier"] = "gold".into();
    let error = avro::encode(&json, schema).unwrap_err();
    assert_eq!(error.path, "after.loyalty_tier", "{error}");
}
