//! A mail catcher (maildev) for tests of what the platform emails: an SMTP server that keeps
//! every message and an HTTP API to read them back.
//!
//! [`MailCatcher::shared`] is the one `scripts/test.sh` starts (`TEST_SMTP_PORT`,
//! `TEST_MAIL_API`); tests share it by mailing unique addresses. A test that takes SMTP away
//! uses [`MailCatcher::start_private`] (`MAILDEV_BIN`), which it may [`MailCatcher::stop`] and
//! [`MailCatcher::resume`] without disturbing anyone else. A private catcher keeps its mail in
//! a directory, so what arrived before a stop is still there after the resume.

use crate::server::{program, LocalServer};
use serde_json::Value;
use std::time::Duration;

/// One received message, as the catcher parsed it.
#[derive(Debug, Clone)]
pub struct Mail {
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Recipient addresses.
    pub to: Vec<String>,
    pub from: Vec<String>,
    /// The `Message-ID` header, angle brackets included.
    pub message_id: Option<String>,
    /// Everything the catcher reported (headers with lowercase keys, …).
    pub raw: Value,
}

impl Mail {
    fn parse(raw: Value) -> Self {
        let text = |key: &str| raw[key].as_str().unwrap_or_default().to_owned();
        let addresses = |key: &str| {
            raw[key]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a["address"].as_str().map(str::to_owned))
                .collect()
        };
        let message_id = raw["headers"]["message-id"]
            .as_str()
            .or_else(|| raw["messageId"].as_str())
            .map(|id| {
                let id = id.trim();
                if id.starts_with('<') {
                    id.to_owned()
                } else {
                    format!("<{id}>")
                }
            });
        Self {
            subject: text("subject"),
            text: text("text"),
            html: text("html"),
            to: addresses("to"),
            from: addresses("from"),
            message_id,
            raw,
        }
    }

    pub fn is_to(&self, address: &str) -> bool {
        self.to.iter().any(|a| a.eq_ignore_ascii_case(address))
    }

    /// The mail among `mails` with `subject`; panics listing them when there is none.
    pub fn with_subject<'a>(mails: &'a [Mail], subject: &str) -> &'a Mail {
        mails
            .iter()
            .find(|m| m.subject == subject)
            .unwrap_or_else(|| panic!("no mail with subject {subject:?} in {mails:#?}"))
    }
}

pub struct MailCatcher {
    pub smtp_port: u16,
    /// Base URL of the HTTP API, e.g. `http://127.0.0.1:51080`.
    pub api: String,
    /// The catcher's process, for a private catcher only.
    private: Option<LocalServer>,
    client: reqwest::Client,
}

fn required(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the integration tests through scripts/test.sh, which starts the mail catcher")
    })
}

impl MailCatcher {
    /// The catcher `scripts/test.sh` runs for every test.
    pub fn shared() -> Self {
        let smtp_port = required("TEST_SMTP_PORT")
            .parse()
            .expect("TEST_SMTP_PORT is a port number");
        Self {
            smtp_port,
            api: required("TEST_MAIL_API").trim_end_matches('/').to_owned(),
            private: None,
            client: reqwest::Client::new(),
        }
    }

    /// A catcher of this test's own (`MAILDEV_BIN`) on free ports; killed when dropped.
    pub async fn start_private(env: &crate::TestEnv) -> Self {
        let (smtp_port, web_port) = (crate::free_port(), crate::free_port());
        let dir = env.scratch_dir("maildev");
        std::fs::create_dir_all(dir.join("mail")).expect("creating the mail directory");
        let args = [
            "--smtp",
            &smtp_port.to_string(),
            "--web",
            &web_port.to_string(),
            "--ip",
            "127.0.0.1",
            "--web-ip",
            "127.0.0.1",
            // Mail kept on disk survives a stop and resume.
            "--mail-directory",
            "mail",
        ];
        let args = args.iter().map(|a| a.to_string()).collect();
        let server = LocalServer::start(
            "maildev",
            program("MAILDEV_BIN", "maildev"),
            args,
            &dir,
            smtp_port,
        )
        .await;
        let catcher = Self {
            smtp_port,
            api: format!("http://127.0.0.1:{web_port}"),
            private: Some(server),
            client: reqwest::Client::new(),
        };
        catcher.wait_for_api().await;
        catcher
    }

    async fn wait_for_api(&self) {
        crate::wait_until_ready(
            &format!("{}/api/healthz", self.api),
            Duration::from_secs(30),
        )
        .await;
    }

    pub fn smtp_host(&self) -> &'static str {
        "127.0.0.1"
    }

    /// The SMTP settings a platform process needs to mail this catcher.
    pub fn smtp_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SMTP_HOST", self.smtp_host().to_owned()),
            ("SMTP_PORT", self.smtp_port.to_string()),
            ("SMTP_TLS", "none".to_owned()),
        ]
    }

    fn private(&mut self) -> &mut LocalServer {
        self.private
            .as_mut()
            .expect("only a private mail catcher can be stopped and resumed")
    }

    /// (Re)starts a private catcher on the same ports and mail directory; returns once both
    /// SMTP and the API answer.
    pub async fn resume(&mut self) {
        self.private().resume().await;
        self.wait_for_api().await;
    }

    /// Kills a private catcher (an SMTP outage); its mail stays for [`MailCatcher::resume`].
    pub async fn stop(&mut self) {
        self.private().stop().await
    }

    /// Every message received so far, oldest first.
    pub async fn messages(&self) -> Vec<Mail> {
        self.fetch(&format!("{}/api/email", self.api)).await
    }

    /// The messages to `address`, oldest first.
    pub async fn messages_to(&self, address: &str) -> Vec<Mail> {
        let url = reqwest::Url::parse_with_params(
            &format!("{}/api/email", self.api),
            [("to.address", address)],
        )
        .expect("a valid URL");
        let mut mails = self.fetch(url.as_str()).await;
        // The server-side filter narrows the transfer; this makes the match exact.
        mails.retain(|m| m.is_to(address));
        mails
    }

    /// Waits until at least `count` messages to `address` arrived, and returns them all.
    pub async fn wait_for(&self, address: &str, count: usize, timeout: Duration) -> Vec<Mail> {
        crate::eventually(
            &format!("{count} message(s) to {address}"),
            timeout,
            || async {
                let mails = self.messages_to(address).await;
                (mails.len() >= count).then_some(mails)
            },
        )
        .await
    }

    async fn fetch(&self, url: &str) -> Vec<Mail> {
        let response = self
            .client
            .get(url)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .unwrap_or_else(|e| panic!("reading {url}: {e}"));
        let body: Value = response
            .json()
            .await
            .unwrap_or_else(|e| panic!("{url} did not answer JSON: {e}"));
        body.as_array()
            .unwrap_or_else(|| panic!("{url} did not answer a JSON array: {body}"))
            .iter()
            .cloned()
            .map(Mail::parse)
            .collect()
    }
}
