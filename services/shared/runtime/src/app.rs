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
    work: Option<Work>,
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
            work: None,
        })
    }

    /// Work that runs beside the router from [`App::run`] until `shutdown` (which it gets);
    /// when it ends, for whatever reason, the service stops and `run` returns its result.
    pub fn with_work<F, Fut>(mut self, work: F) -> Self
    where
        F: FnOnce(Shutdown) -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        self.work = Some(Box::new(move |shutdown| Box::pin(work(shutdown))));
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
        let result = match self.work {
            Some(work) => {
                let result = work(shutdown.clone()).await;
                shutdown.trigger();
                result
            }
            None => Ok(()),
        };
        server.await??;
        tracing::info!("{} stopped", self.name);
        result
    }
}
