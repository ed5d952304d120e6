//! Avro order events: the processor prices an order whose event is Confluent-framed Avro (the
//! relay's `EVENT_FORMAT=avro`) as it prices a JSON one, on the same topic.

mod common;

use apache_avro::Schema;
use common::{Order, World};
use test_support::registry::SchemaRegistry;

#[tokio::test]
async fn avro_and_json_order_events_on_one_topic_are_both_priced() {
    let world = World::new("price-avro").await;
    let registry = SchemaRegistry::start().await;
    let schema_text = codec::schemas::for_topic("orders").unwrap().text;
    let id = registry
        .register(&format!("{}-value", world.orders_topic()), schema_text)
        .await;
    let schema = Schema::parse_str(schema_text).unwrap();

    let avro_order = Order::new("AVRO", 3);
    let mut value = vec![0];
    value.extend_from_slice(&id.to_be_bytes());
    value.extend(
        codec::avro::encode(
            &serde_json::to_value(avro_order.created()).unwrap(),
            &schema,
        )
        .unwrap(),
    );
    world.produce_raw(&avro_order.id.to_string(), &value).await;
    let json_order = Order::new("JSON", 2);
    world.produce(&[json_order.created()]).await;

    let _processor = world
        .processor_on(
            &world.db,
            "processor",
            &[("SCHEMA_REGISTRY_URL", registry.url.clone())],
        )
        .await;
    let rows = world.wait_for_executions(2).await;
    let mut priced: Vec<(String, String, i32)> = rows
        .iter()
        .map(|r| (r.order_id.clone(), r.symbol.clone(), r.quantity))
        .collect();
    priced.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(
        priced,
        [
            (avro_order.id.to_string(), "AVRO".to_owned(), 3),
            (json_order.id.to_string(), "JSON".to_owned(), 2),
        ]
    );
}
