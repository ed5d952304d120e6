//! One shape for every binary: `startup::build(config) -> App`, returned unstarted, then
//! `App::run(shutdown)`. The listener is bound at build time, so a test learns the real port
//! (it configures port 0) before anything runs, and a port already in use fails the build, not
//! the first request.

use crate::Shutdown;
use anyhow::Context;
use axum::Router;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use tokio::net::TcpListener;

type Work =
    Box<dyn FnOnce(Shutdown) -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>> + Send>;

/// A built service, not yet running: its HTTP router on a bound listener and, for workers, the
/// work beside it (a consume loop, the relay).
pub struct App {
    name: &'static str,
    listener: TcpListener,
    router: Router,
    work: Vec<Work>,
}

impl App {
    /// `router` to be served on `addr` (port 0 picks a free one; [`App::local_addr`] tells it).
    pub async fn bind(
        name: &'static str,
        addr: SocketAddr,
        router: Router,
    ) -> anyhow::Result<Self> {
        let listener = crate::serve::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        Ok(Self {
            name,
            listener,
            router,
            work: Vec::new(),
        })
    }

    /// Work that runs beside the router (and any other work) from [`App::run`] until
    /// `shutdown` (which it gets); when one piece ends, for whatever reason, the service stops
    /// and `run` returns the first error.
    pub fn with_work<F, Fut>(mut self, work: F) -> Self
    where
        F: FnOnce(Shutdown) -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        self.work
            .push(Box::new(move |shutdown| Box::pin(work(shutdown))));
        self
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves (and works) until `shutdown` trips or the work ends, then drains in-flight
    /// requests.
    pub async fn run(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let server = tokio::spawn(crate::serve::serve(
            self.listener,
            self.router,
            shutdown.clone(),
        ));
        let mut work = tokio::task::JoinSet::new();
        for piece in self.work {
            work.spawn(piece(shutdown.clone()));
        }
        let mut result = Ok(());
        while let Some(ended) = work.join_next().await {
            shutdown.trigger();
            let ended = ended.context("a worker task panicked").and_then(|r| r);
            if result.is_ok() {
                result = ended;
            }
        }
        server.await??;
        tracing::info!("{} stopped", self.name);
        result
    }
}
