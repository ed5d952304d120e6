//! SMTP delivery with lettre over tokio: one pooled transport built from the configuration,
//! and a verdict per attempt (worth retrying or not).

use crate::{
    config::{SmtpArgs, TlsMode},
    email::{self, Email},
};
use lettre::{
    message::{Mailbox, MultiPart},
    transport::smtp::authentication::Credentials,
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};
use uuid::Uuid;

/// Why one attempt failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SendError {
    /// No answer: the server is down, unreachable or timed out. An outage, however long, is
    /// waited out; it says nothing about this message.
    #[error("{0}")]
    Unavailable(String),
    /// The server answered 4xx for this message: a later attempt may succeed.
    #[error("{0}")]
    Transient(String),
    /// The server refused the message for good (5xx), or it could not be built.
    #[error("{0}")]
    Permanent(String),
}

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    pub fn new(args: &SmtpArgs) -> Result<Self, lettre::transport::smtp::Error> {
        type Transport = AsyncSmtpTransport<Tokio1Executor>;
        let builder = match args.smtp_tls {
            TlsMode::None => Transport::builder_dangerous(&args.smtp_host),
            TlsMode::Starttls => Transport::starttls_relay(&args.smtp_host)?,
            TlsMode::Tls => Transport::relay(&args.smtp_host)?,
        };
        let mut builder = builder
            .port(args.smtp_port)
            .timeout(Some(args.smtp_timeout));
        if let (Some(user), Some(password)) = (&args.smtp_username, &args.smtp_password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.0.clone()));
        }
        Ok(Self {
            transport: builder.build(),
            from: args.smtp_from.clone(),
        })
    }

    /// The Message-ID every attempt for `event_id` carries (see [`email::message_id`]).
    pub fn message_id(&self, event_id: Uuid) -> String {
        email::message_id(event_id, self.from.email.domain())
    }

    /// One delivery attempt of `email`, the notification for event `event_id`.
    pub async fn send(&self, event_id: Uuid, email: &Email) -> Result<(), SendError> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(email.to.clone())
            .subject(email.subject.clone())
            .message_id(Some(self.message_id(event_id)))
            .multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                email.html.clone(),
            ))
            .map_err(|e| SendError::Permanent(format!("building the message: {e}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(describe(&e))),
            Err(e) if e.is_transient() => Err(SendError::Transient(describe(&e))),
            Err(e) => Err(SendError::Unavailable(describe(&e))),
        }
    }
}

/// lettre's display omits the cause ("Connection error"); the chain says what went wrong.
fn describe(error: &lettre::transport::smtp::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
