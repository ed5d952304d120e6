//! The one accept loop every server uses: requests are answered with the client's address at
//! hand, and a client that never finishes its headers is disconnected, not held forever.

use axum::{extract::ConnectInfo, routing::get, Router};
use runtime::{serve::serve_with, Shutdown};
use std::{net::SocketAddr, time::Duration};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

async fn start(header_read_timeout: Duration) -> (SocketAddr, Shutdown) {
    let listener = runtime::serve::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().route(
        "/peer",
        get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.ip().to_string() }),
    );
    let shutdown = Shutdown::new();
    tokio::spawn(serve_with(
        listener,
        app,
        shutdown.clone(),
        header_read_timeout,
    ));
    (addr, shutdown)
}

async fn exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut response))
        .await
        .expect("the server closed the connection in time")
        .unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test]
async fn a_request_is_answered_knowing_the_clients_address() {
    let (addr, shutdown) = start(Duration::from_secs(10)).await;
    let response = exchange(
        addr,
        b"GET /peer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("127.0.0.1"), "{response}");
    shutdown.trigger();
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let (addr, shutdown) = start(Duration::from_millis(300)).await;
    // No blank line: the headers never end. Without a header timeout this waits forever
    // (and `exchange` fails after 5 s).
    let response = exchange(addr, b"GET /peer HTTP/1.1\r\nHost: x\r\n").await;
    assert!(!response.contains(" 200 "), "{response}");
    shutdown.trigger();
}
