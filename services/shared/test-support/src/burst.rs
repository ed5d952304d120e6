//! The whole write side of the platform as real processes, and a burst of mixed writes through
//! it: customers, casts, movies and orders written concurrently through the APIs, each database
//! relayed by its own relay, orders priced by the order-processor. Tests add the consumers they
//! prove something about, then compare what those built with the source tables.

use crate::process::RunningService;
use futures::{future::join_all, TryStreamExt};
use mongodb::bson::{doc, Document};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::{collections::HashMap, time::Duration};

/// An API process and a client for it; the process stops when this is dropped.
pub struct Api {
    client: Client,
    base: String,
    _service: RunningService,
}

impl Api {
    async fn start(name: &str, addr_var: &'static str, envs: &[(&str, String)]) -> Self {
        let mut all = vec![("JWT_SECRET", crate::TEST_JWT_SECRET.to_owned())];
        all.extend(envs.iter().cloned());
        let service = RunningService::start(name, addr_var, &all).await;
        Self {
            client: crate::api::client_with_token(&crate::admin_token()),
            base: service.http.clone(),
            _service: service,
        }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.base));
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

/// A replicated table: where it lives, the collection (and topic) it becomes, its version
/// column and which rows are live.
pub struct Table {
    pub database: String,
    pub table: &'static str,
    pub collection: &'static str,
    version: &'static str,
    live: &'static str,
}

/// The three APIs, the order-processor and one relay per database, on topics under one prefix.
pub struct WriteSide {
    customers: Api,
    movies: Api,
    orders: Api,
    pub tables: Vec<Table>,
    executions_db: String,
    _processor: RunningService,
    _relays: Vec<RunningService>,
}

impl WriteSide {
    /// Starts every process of the write side on `bootstrap`, topics under `prefix`; `extra`
    /// settings go to each of them.
    pub async fn start(bootstrap: &str, prefix: &str, extra: &[(&str, String)]) -> Self {
        let env = crate::TestEnv::get();
        let customers_db = env.fresh_database().await;
        let movies_db = env.fresh_database().await;
        let orders_db = env.fresh_database().await;
        let executions_db = env.fresh_database().await;
        let with = |pairs: &[(&'static str, String)]| -> Vec<(&str, String)> {
            pairs.iter().cloned().chain(extra.iter().cloned()).collect()
        };
        let customers = Api::start(
            "customer-api",
            "CUSTOMER_API_ADDR",
            &with(&[("CUSTOMER_DATABASE_URL", customers_db.clone())]),
        )
        .await;
        let movies = Api::start(
            "movie-api",
            "MOVIE_API_ADDR",
            &with(&[("MOVIE_DATABASE_URL", movies_db.clone())]),
        )
        .await;
        let orders = Api::start(
            "order-api",
            "ORDER_API_ADDR",
            &with(&[("ORDER_DATABASE_URL", orders_db.clone())]),
        )
        .await;
        let processor = RunningService::start(
            "order-processor",
            "ORDER_PROCESSOR_ADDR",
            &with(&[
                ("ORDER_PROCESSOR_DATABASE_URL", executions_db.clone()),
                ("KAFKA_BOOTSTRAP_SERVERS", bootstrap.to_owned()),
                ("TOPIC_PREFIX", prefix.to_owned()),
                ("ORDER_PROCESSOR_GROUP", crate::unique("processor")),
            ]),
        )
        .await;
        let mut relays = Vec::new();
        for database in [&customers_db, &movies_db, &orders_db, &executions_db] {
            relays.push(RunningService::relay(database, bootstrap, prefix, extra).await);
        }
        let table = |database: &String, table, collection, version, live| Table {
            database: database.clone(),
            table,
            collection,
            version,
            live,
        };
        let tables = vec![
            table(
                &customers_db,
                "customers",
                "customers",
                "version",
                "deleted_at IS NULL",
            ),
            table(
                &movies_db,
                "movies",
                "movies",
                "version",
                "deleted_at IS NULL",
            ),
            table(
                &movies_db,
                "casts",
                "casts",
                "version",
                "deleted_at IS NULL",
            ),
            table(&orders_db, "orders", "orders", "1", "true"),
            table(
                &executions_db,
                "order_executions",
                "order-executions",
                "1",
                "true",
            ),
        ];
        Self {
            customers,
            movies,
            orders,
            tables,
            executions_db,
            _processor: processor,
            _relays: relays,
        }
    }

    /// One round of mixed writes on every API, concurrently. Returns the orders placed.
    pub async fn burst(&self) -> usize {
        let (_, _, placed) = tokio::join!(
            customer_burst(&self.customers),
            movie_burst(&self.movies),
            order_burst(&self.orders)
        );
        placed
    }

    /// Waits until `placed` orders are priced (their executions are then in the outbox).
    pub async fn wait_until_priced(&self, placed: usize, wait: Duration) {
        crate::eventually("every order to be priced", wait, || async {
            let priced = crate::count(
                &self.executions_db,
                "SELECT count(*) AS n FROM order_executions",
            )
            .await;
            (priced == placed as i64).then_some(())
        })
        .await;
    }

    /// Waits until every collection of MongoDB database `replica` holds exactly the live rows
    /// of its source table, at the same versions.
    pub async fn assert_replica_matches(&self, mongo_uri: &str, replica: &str, wait: Duration) {
        let client = crate::mongo::client(mongo_uri).await;
        for table in &self.tables {
            let source = source_state(table).await;
            assert!(!source.is_empty(), "the burst wrote {}", table.table);
            crate::eventually(
                &format!(
                    "the {} collection to match the {} table",
                    table.collection, table.table
                ),
                wait,
                || async {
                    let replica = replica_state(&client, replica, table.collection).await;
                    (replica == source).then_some(())
                },
            )
            .await;
        }
    }
}

impl Table {
    /// The version of every row, deleted ones included: the last event of each aggregate.
    pub async fn last_versions(&self) -> HashMap<String, i64> {
        let rows = crate::text(
            &self.database,
            &format!(
                "SELECT coalesce(string_agg(id::text || ':' || {}, ','), '') AS s FROM {}",
                self.version, self.table
            ),
        )
        .await;
        rows.split(',')
            .filter(|r| !r.is_empty())
            .map(|r| {
                let (id, version) = r.split_once(':').expect("id:version");
                (id.to_owned(), version.parse().expect("a version"))
            })
            .collect()
    }
}

/// Customers: created, renamed, a third of them deleted.
async fn customer_burst(api: &Api) {
    let created = join_all((0..12).map(|i| {
        api.post(
            "/api/v1/customers",
            json!({"name": format!("Customer {i}"),
                   "email": format!("{}@example.com", crate::unique("burst")),
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
async fn source_state(table: &Table) -> String {
    crate::text(
        &table.database,
        &format!(
            "SELECT coalesce(string_agg(id::text || ':' || {}, ',' ORDER BY id::text), '') \
             AS s FROM {} WHERE {}",
            table.version, table.table, table.live
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
