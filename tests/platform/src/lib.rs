//! Tests across services live in `tests/`; this crate holds what several of them set up alike.

use customer_api::store::{CustomerStore, ALL_MIGRATIONS};
use test_support::TestEnv;

/// A fresh customers database (customer-api's table and outbox) and the API's own store on it,
/// whose writes run the same transaction of row and outbox event as its HTTP handlers. Returns
/// the database URL (for the relay) and the store.
pub async fn customer_store(env: &TestEnv) -> (String, CustomerStore) {
    let db = env.fresh_database().await;
    runtime::db::migrate(&db, ALL_MIGRATIONS)
        .await
        .expect("migrating the customers database");
    let pool = runtime::db::pool(&db, &runtime::db::PoolArgs::with_size(4))
        .expect("a pool on the customers database");
    (db, CustomerStore::new(pool))
}
