//! MongoDB-protocol servers for tests: the shared one `scripts/test.sh` starts
//! (`TEST_MONGODB_URI`), and private SecantusDB instances (`SECANTUSD_BIN`) for tests that stop
//! and restart the server.

use crate::server::{program, LocalServer};
use std::time::Duration;

/// The shared test server's URI.
pub fn shared_uri() -> String {
    std::env::var("TEST_MONGODB_URI").unwrap_or_else(|_| {
        panic!("TEST_MONGODB_URI is not set: run the integration tests through scripts/test.sh")
    })
}

pub async fn client(uri: &str) -> mongodb::Client {
    let mut options = mongodb::options::ClientOptions::parse(uri)
        .await
        .expect("a valid MongoDB URI");
    options.server_selection_timeout = Some(Duration::from_secs(5));
    mongodb::Client::with_options(options).expect("a MongoDB client")
}

/// The replica's document `id` once it is at `version` (`_version`), waiting up to `wait`.
pub async fn document_at_version(
    collection: &mongodb::Collection<mongodb::bson::Document>,
    id: &str,
    version: i64,
    wait: Duration,
) -> mongodb::bson::Document {
    let what = format!("document {id} at version {version}");
    crate::eventually(&what, wait, || async {
        let doc = collection
            .find_one(mongodb::bson::doc! {"_id": id})
            .await
            .ok()
            .flatten()?;
        (doc.get_i64("_version").ok()? == version).then_some(doc)
    })
    .await
}

/// Waits up to `wait` for the replica's document `id` to be gone.
pub async fn document_gone(
    collection: &mongodb::Collection<mongodb::bson::Document>,
    id: &str,
    wait: Duration,
) {
    crate::eventually(&format!("document {id} deleted"), wait, || async {
        collection
            .find_one(mongodb::bson::doc! {"_id": id})
            .await
            .ok()
            .and_then(|d| d.is_none().then_some(()))
    })
    .await
}

/// Every document of `collection`, in the server's order.
pub async fn all_documents(
    collection: &mongodb::Collection<mongodb::bson::Document>,
) -> Vec<mongodb::bson::Document> {
    use futures::TryStreamExt;
    let read = async {
        collection
            .find(mongodb::bson::doc! {})
            .await?
            .try_collect()
            .await
    };
    read.await
        .unwrap_or_else(|e: mongodb::error::Error| panic!("reading {}: {e}", collection.name()))
}

pub struct MongoServer {
    pub port: u16,
    server: LocalServer,
}

impl MongoServer {
    /// Starts SecantusDB (`SECANTUSD_BIN`) on a free port with storage in a fresh directory.
    pub async fn start(env: &crate::TestEnv) -> Self {
        let port = crate::free_port();
        let args = [
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--log-level",
            "WARNING",
            "--storage-path",
            "data",
        ]
        .iter()
        .map(|a| a.to_string())
        .collect();
        let program = program("SECANTUSD_BIN", "secantusd-py");
        let server =
            LocalServer::start("secantusd", program, args, &env.scratch_dir("mongo"), port).await;
        Self { port, server }
    }

    pub fn uri(&self) -> String {
        format!("mongodb://127.0.0.1:{}/?directConnection=true", self.port)
    }

    /// Restarts the server on the same port and storage.
    pub async fn resume(&mut self) {
        self.server.resume().await
    }

    /// Kills the server (a crash or outage); its data stays for [`MongoServer::resume`].
    pub async fn stop(&mut self) {
        self.server.stop().await
    }
}
