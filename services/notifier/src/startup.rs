//! Wires the notifier: migrations, the health and metrics server, and the consume loop, all
//! stopped by one shutdown token.

use crate::{
    config::Config,
    contacts::CustomerContacts,
    handler::{self, Attempts, FailureReporter, NotificationHandler},
    ledger::{self, Ledger},
    mailer::Mailer,
};
use anyhow::Context;
use codec::EventDecoder;
use kafka::consume::ConsumeLoop;
use runtime::backoff::Backoff;
use runtime::{db, ops, App, Shutdown};
use std::time::Duration;

pub const SERVICE: &str = "notifier";

/// The notifier unstarted: health and metrics on its bound address, the consume loop as its
/// work.
pub async fn build(config: Config) -> anyhow::Result<App> {
    let pool = db::open(&config.database_url, ledger::ALL_MIGRATIONS, &config.pool)
        .await
        .context("opening the notifier database")?;
    // The router installs the metrics recorder; counters described before it would be lost.
    let router = ops::router(SERVICE, db::readiness(&pool));
    handler::describe_metrics();
    let app = App::bind(SERVICE, config.addr, router).await?;
    Ok(app.with_work(|shutdown| async move {
        let ledger = Ledger::new(pool.clone());
        consume(&config, ledger, CustomerContacts::new(pool), shutdown).await
    }))
}

async fn consume(
    config: &Config,
    ledger: Ledger,
    contacts: CustomerContacts,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let topics = [config.customers_topic(), config.executions_topic()];
    let dead_letters = topics.iter().map(|t| events::Topic::dead_letter(t));
    let failed = config.failed_topic();
    let all: Vec<String> = topics
        .iter()
        .cloned()
        .chain(dead_letters)
        .chain([failed.clone()])
        .collect();
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    // The broker may not be up yet: keep trying until it is, or until shutdown.
    let created = Backoff::default()
        .until_ok("creating topics", &shutdown, || {
            config.kafka.ensure_topics(&all)
        })
        .await;
    if created.is_none() {
        return Ok(());
    }
    let backoff = Backoff {
        min: config.retry_base,
        max: config.retry_max,
    };
    let mailer = Mailer::new(&config.smtp).context("configuring SMTP")?;
    let failures = FailureReporter::new(
        config
            .kafka
            .idempotent_producer(Duration::from_secs(10), Duration::ZERO)?,
        failed,
    );
    let mut handler = NotificationHandler::new(
        ledger,
        contacts,
        mailer,
        failures,
        Attempts {
            max: config.max_attempts,
            backoff,
        },
        shutdown.clone(),
        EventDecoder::new(&config.schema_registry_url),
    );
    let consumer =
        ConsumeLoop::new(&config.kafka, SERVICE, &config.group, &topics, backoff).await?;
    tracing::info!(?topics, group = %config.group, smtp = %format!("{}:{}", config.smtp.smtp_host, config.smtp.smtp_port), "consuming");
    let handled = consumer.run(&mut handler, shutdown.requested()).await;
    tracing::info!(handled, "consume loop stopped");
    Ok(())
}
