//! A private Tansu broker for tests that stop and restart the broker, so that they never take
//! the shared one away from tests running beside them.

use crate::server::{program, LocalServer};

pub struct Broker {
    pub port: u16,
    server: LocalServer,
}

impl Broker {
    /// Starts Tansu (`TANSU_BIN`) on a free port with sqlite storage in a fresh directory.
    pub async fn start(env: &crate::TestEnv) -> Self {
        let port = crate::free_port();
        let url = format!("tcp://127.0.0.1:{port}");
        let args = [
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
            // Tansu resolves a sqlite path relative to its working directory (the server's dir).
            "--storage-engine",
            "sqlite://tansu.db",
        ];
        let args = args.iter().map(|a| a.to_string()).collect();
        let server = LocalServer::start(
            "tansu",
            program("TANSU_BIN", "tansu"),
            args,
            &env.scratch_dir("broker"),
            port,
        )
        .await;
        Self { port, server }
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Restarts the broker on the same port and storage.
    pub async fn resume(&mut self) {
        self.server.resume().await
    }

    /// Kills the broker (as a crash or outage would); storage stays for [`Broker::resume`].
    pub async fn stop(&mut self) {
        self.server.stop().await
    }
}
