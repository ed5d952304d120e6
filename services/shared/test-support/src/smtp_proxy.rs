//! A small SMTP proxy a test puts in front of a real mail server to inject one fault the
//! server cannot be asked for: a permanent refusal of one recipient. Every `RCPT TO` naming a
//! refused address is answered `550 5.1.1` by the proxy itself; every other line, and every
//! byte the server sends, passes through unchanged.

use std::sync::Arc;
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{tcp::OwnedWriteHalf, TcpListener, TcpStream},
    sync::Mutex,
    task::JoinHandle,
};

pub struct RefusingProxy {
    pub port: u16,
    accept: JoinHandle<()>,
}

impl Drop for RefusingProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl RefusingProxy {
    /// Listens on a free port and relays to the SMTP server on `upstream_port`, refusing the
    /// addresses in `refused` (compared without case).
    pub async fn start(upstream_port: u16, refused: &[&str]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the proxy");
        let port = listener.local_addr().expect("a local address").port();
        let refused: Arc<Vec<String>> =
            Arc::new(refused.iter().map(|a| a.to_ascii_lowercase()).collect());
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let refused = refused.clone();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(("127.0.0.1", upstream_port)).await {
                        relay(client, server, &refused).await;
                    }
                });
            }
        });
        Self { port, accept }
    }

    /// The SMTP settings a platform process needs to send through this proxy.
    pub fn smtp_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SMTP_HOST", "127.0.0.1".to_owned()),
            ("SMTP_PORT", self.port.to_string()),
            ("SMTP_TLS", "none".to_owned()),
        ]
    }
}

async fn relay(client: TcpStream, server: TcpStream, refused: &[String]) {
    let (client_read, client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    // Both directions write to the client: the server's replies and the proxy's refusals.
    let client_write = Arc::new(Mutex::new(client_write));
    let replies = {
        let client_write = client_write.clone();
        tokio::spawn(async move {
            let mut buffer = vec![0u8; 8192];
            loop {
                use tokio::io::AsyncReadExt;
                match server_read.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if client_write
                            .lock()
                            .await
                            .write_all(&buffer[..n])
                            .await
                            .is_err()
                        {
                            break;
                        }
                    }
                }
            }
            let _ = client_write.lock().await.shutdown().await;
        })
    };
    let mut lines = BufReader::new(client_read);
    let mut line = String::new();
    let mut in_data = false;
    loop {
        line.clear();
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let command = line.to_ascii_lowercase();
        if in_data {
            in_data = line != ".\r\n";
        } else if command.starts_with("data") {
            in_data = true;
        } else if command.starts_with("rcpt to:") && refused.iter().any(|a| command.contains(a)) {
            refuse(&client_write, line.trim_end()).await;
            continue;
        }
        if server_write.write_all(line.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = server_write.shutdown().await;
    let _ = replies.await;
}

async fn refuse(client: &Mutex<OwnedWriteHalf>, command: &str) {
    let reply = format!("550 5.1.1 mailbox unavailable (refused by the test proxy: {command})\r\n");
    let _ = client.lock().await.write_all(reply.as_bytes()).await;
}
