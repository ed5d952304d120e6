//! The whole platform under a burst of mixed writes: customers, casts, movies and orders
//! written concurrently through the real APIs, each database relayed by its own relay, orders
//! priced by the order-processor, everything replicated. Afterwards every MongoDB collection
//! holds exactly the live rows of its source table, at the same versions.

use futures::{future::join_all, TryStreamExt};
use mongodb::bson::{doc, Document};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;
use test_support::{mongo, process::RunningService, TestEnv};
use web::auth::{Claims, JwtKeys, JwtSecret, Role};

const WAIT: Duration = Duration::from_secs(120);
/// The APIs run with authentication on, as deployed; the test writes as an admin.
const JWT_SECRET: &str = "burst-test-secret-of-at-least-32-bytes";

/// An API process and a client for it; the process stops when this is dropped.
struct Api {
    client: Client,
    base: String,
    token: String,
    _service: RunningService,
}

impl Api {
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        if status == StatusCode::NO_CONTENT {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        }
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    async fn patch(&self, path: &str, body: Value) -> Value {
        self.send(reqwest::Method::PATCH, path, Some(body)).await
    }

    async fn delete(&self, path: &str) {
        self.send(reqwest::Method::DELETE, path, None).await;
    }
}

fn id(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_owned()
}

async fn start_api(name: &str, addr_var: &'static str, url_var: &str, database: &str) -> Api {
    let service = RunningService::start(
        name,
        addr_var,
        &[
            (url_var, database.to_owned()),
            ("JWT_SECRET", JWT_SECRET.to_owned()),
        ],
    )
    .await;
    let keys = JwtKeys::new(&JWT_SECRET.parse::<JwtSecret>().expect("a valid secret"));
    Api {
        client: Client::new(),
        base: service.http.clone(),
        token: keys.sign(&Claims::new(
            "burst",
            Role::Admin,
            Duration::from_secs(3600),
        )),
        _service: service,
    }
}

/// Customers: created, renamed, a third of them deleted.
async fn customer_burst(api: &Api) {
    let created = join_all((0..12).map(|i| {
        api.post(
            "/api/v1/customers",
            json!({"name": format!("Customer {i}"),
                   "email": format!("{}@example.com", test_support::unique("burst")),
                   "phone": "+1 555-0100"}),
        )
    }))
    .await;
    join_all(created.iter().enumerate().map(|(i, c)| async move {
        api.patch(
            &format!("/api/v1/customers/{}", id(c)),
            json!({"name": format!("Renamed {i}")}),
        )
        .await;
        if i % 3 == 0 {
            api.delete(&format!("/api/v1/customers/{}", id(c))).await;
        }
    }))
    .await;
}

/// Casts and movies: movies naming casts, some retitled, some deleted, one unused cast deleted.
async fn movie_burst(api: &Api) {
    let genres = api.send(reqwest::Method::GET, "/api/v1/genres", None).await;
    let genre = genres["genres"][0].clone();
    assert!(genre.is_string(), "a genre: {genres}");
    let casts = join_all((0..6).map(|i| {
        api.post(
            "/api/v1/casts",
            json!({"name": format!("Actor {i}"), "nationality": "Irish"}),
        )
    }))
    .await;
    let movies = join_all((0..8).map(|i| {
        let cast_ids = vec![id(&casts[i % 5]), id(&casts[(i + 1) % 5])];
        api.post(
            "/api/v1/movies",
            json!({"title": format!("Movie {i}"), "plot": "A plot.", "genres": [genre],
                   "cast_ids": cast_ids, "release_year": 2000 + i}),
        )
    }))
    .await;
    join_all(movies.iter().enumerate().map(|(i, m)| async move {
        if i % 2 == 0 {
            api.patch(
                &format!("/api/v1/movies/{}", id(m)),
                json!({"title": format!("Sequel {i}")}),
            )
            .await;
        }
        if i % 4 == 1 {
            api.delete(&format!("/api/v1/movies/{}", id(m))).await;
        }
    }))
    .await;
    api.patch(
        &format!("/api/v1/casts/{}", id(&casts[0])),
        json!({"nationality": "French"}),
    )
    .await;
    api.delete(&format!("/api/v1/casts/{}", id(&casts[5])))
        .await;
}

async fn order_burst(api: &Api) -> usize {
    let orders = join_all((0..10).map(|i| {
        api.post(
            "/api/v1/orders",
            json!({"symbol": format!("SYM{i}"), "quantity": i + 1}),
        )
    }))
    .await;
    orders.len()
}

/// `id:version` of every live row, ordered by id.
async fn source_state(database: &str, table: &str, version: &str, live: &str) -> String {
    test_support::text(
        database,
        &format!(
            "SELECT coalesce(string_agg(id::text || ':' || {version}, ',' ORDER BY id::text), '') \
             AS s FROM {table} WHERE {live}"
        ),
    )
    .await
}

/// `_id:_version` of every document, ordered by `_id`.
async fn replica_state(client: &mongodb::Client, database: &str, collection: &str) -> String {
    let documents: Vec<Document> = match client
        .database(database)
        .collection::<Document>(collection)
        .find(doc! {})
        .sort(doc! {"_id": 1})
        .await
    {
        Ok(cursor) => cursor.try_collect().await.unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    documents
        .iter()
        .map(|d| {
            format!(
                "{}:{}",
                d.get_str("_id").unwrap_or_default(),
                d.get_i64("_version").unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[tokio::test]
async fn after_a_burst_of_mixed_writes_the_replica_matches_every_source_table() {
    let env = TestEnv::get();
    let prefix = test_support::unique("burst") + ".";
    let bootstrap = env.bootstrap.clone();
    let customers_db = env.fresh_database().await;
    let movies_db = env.fresh_database().await;
    let orders_db = env.fresh_database().await;
    let executions_db = env.fresh_database().await;
    let replica = test_support::unique("replica").replace('-', "_");
    let mongo_uri = mongo::shared_uri();

    let customers = start_api(
        "customer-api",
        "CUSTOMER_API_ADDR",
        "CUSTOMER_DATABASE_URL",
        &customers_db,
    )
    .await;
    let movies = start_api(
        "movie-api",
        "MOVIE_API_ADDR",
        "MOVIE_DATABASE_URL",
        &movies_db,
    )
    .await;
    let orders = start_api(
        "order-api",
        "ORDER_API_ADDR",
        "ORDER_DATABASE_URL",
        &orders_db,
    )
    .await;
    let _processor = RunningService::start(
        "order-processor",
        "ORDER_PROCESSOR_ADDR",
        &[
            ("ORDER_PROCESSOR_DATABASE_URL", executions_db.clone()),
            ("KAFKA_BOOTSTRAP_SERVERS", bootstrap.clone()),
            ("TOPIC_PREFIX", prefix.clone()),
            ("ORDER_PROCESSOR_GROUP", test_support::unique("processor")),
        ],
    )
    .await;
    let mut relays = Vec::new();
    for database in [&customers_db, &movies_db, &orders_db, &executions_db] {
        relays.push(RunningService::relay(database, &bootstrap, &prefix, &[]).await);
    }
    let _replicator =
        RunningService::replicator(&bootstrap, &prefix, &mongo_uri, &replica, &[]).await;

    let (_, _, placed) = tokio::join!(
        customer_burst(&customers),
        movie_burst(&movies),
        order_burst(&orders)
    );
    test_support::eventually("every order to be priced", WAIT, || async {
        let priced =
            test_support::count(&executions_db, "SELECT count(*) AS n FROM order_executions").await;
        (priced == placed as i64).then_some(())
    })
    .await;

    let client = mongo::client(&mongo_uri).await;
    let expectations = [
        (
            &customers_db,
            "customers",
            "customers",
            "version",
            "deleted_at IS NULL",
        ),
        (
            &movies_db,
            "movies",
            "movies",
            "version",
            "deleted_at IS NULL",
        ),
        (
            &movies_db,
            "casts",
            "casts",
            "version",
            "deleted_at IS NULL",
        ),
        (&orders_db, "orders", "orders", "1", "true"),
        (
            &executions_db,
            "order_executions",
            "order-executions",
            "1",
            "true",
        ),
    ];
    for (database, table, collection, version, live) in expectations {
        let source = source_state(database, table, version, live).await;
        assert!(!source.is_empty(), "the burst wrote {table}");
        test_support::eventually(
            &format!("the {collection} collection to match the {table} table"),
            WAIT,
            || async {
                let replica = replica_state(&client, &replica, collection).await;
                (replica == source).then_some(())
            },
        )
        .await;
    }
}
