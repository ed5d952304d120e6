//! Serving an axum router on a bound listener until shutdown.

use crate::Shutdown;
use axum::Router;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// Binds `addr` (port 0 picks a free one, which tests use) and returns the listener so the
/// caller learns the real address before serving.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serves until `shutdown` trips, then stops accepting and lets in-flight requests finish.
pub async fn serve(listener: TcpListener, app: Router, shutdown: Shutdown) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.requested().await })
        .await
}

/// For processes whose work is not HTTP (relay, consumers): binds `addr` and serves the ops
/// endpoints (health, metrics) in the background until `shutdown`. Await the handle after
/// triggering shutdown.
pub async fn spawn_ops(
    addr: SocketAddr,
    service: &'static str,
    ready: crate::ops::ReadinessCheck,
    shutdown: Shutdown,
) -> std::io::Result<tokio::task::JoinHandle<std::io::Result<()>>> {
    let listener = bind(addr)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("binding {addr}: {e}")))?;
    Ok(tokio::spawn(serve(
        listener,
        crate::ops::router(service, ready),
        shutdown,
    )))
}
