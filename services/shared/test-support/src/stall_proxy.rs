//! A TCP proxy a test puts in front of a shared server (the test PostgreSQL) to make that
//! server hang for one client only: while stalled, the proxy accepts connections and keeps
//! the open ones, but passes no byte either way, as a server stopped with SIGSTOP or a network
//! that drops packets would. Freezing the shared server itself would stall every other test.

use std::net::SocketAddr;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::watch,
    task::JoinHandle,
};

pub struct StallProxy {
    pub port: u16,
    stalled: watch::Sender<bool>,
    accept: JoinHandle<()>,
}

impl Drop for StallProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl StallProxy {
    /// A proxy in front of the server `url` (`postgres://…@host:port/db`) and `url` as it
    /// reaches that server through the proxy.
    pub async fn in_front_of(url: &str) -> (Self, String) {
        let mut through = reqwest::Url::parse(url).expect("a URL");
        let host = through.host_str().expect("a host").to_owned();
        let port = through.port().expect("a port");
        let upstream = tokio::net::lookup_host((host.as_str(), port))
            .await
            .expect("resolving the server")
            .next()
            .expect("an address");
        let proxy = Self::start(upstream).await;
        through
            .set_port(Some(proxy.port))
            .expect("a URL with a port");
        (proxy, through.to_string())
    }

    /// Listens on a free port and relays every connection to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the proxy");
        let port = listener.local_addr().expect("a local address").port();
        let (stalled, _) = watch::channel(false);
        let gate = stalled.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let gate = gate.clone();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(upstream).await {
                        let (client_read, client_write) = client.into_split();
                        let (server_read, server_write) = server.into_split();
                        tokio::join!(
                            pass(client_read, server_write, gate.subscribe()),
                            pass(server_read, client_write, gate.subscribe()),
                        );
                    }
                });
            }
        });
        Self {
            port,
            stalled,
            accept,
        }
    }

    /// From now on no byte passes, on open connections or new ones.
    pub fn stall(&self) {
        self.stalled.send_replace(true);
    }

    /// Bytes pass again; what waited is delivered.
    pub fn resume(&self) {
        self.stalled.send_replace(false);
    }
}

/// Copies `from` to `to` while not stalled; a stall takes effect between reads, and also
/// interrupts a read that is waiting.
async fn pass(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    mut stalled: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        while *stalled.borrow_and_update() {
            if stalled.changed().await.is_err() {
                return;
            }
        }
        tokio::select! {
            read = from.read(&mut buf) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            },
            changed = stalled.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
    let _ = to.shutdown().await;
}
