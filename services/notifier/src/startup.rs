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
use kafka::consume::{ConsumeLoop, RetryPolicy};
use runtime::{db, ops, Shutdown};
use std::{sync::Arc, time::Duration};

pub const SERVICE: &str = "notifier";

pub async fn run(config: Config, shutdown: Shutdown) -> anyhow::Result<()> {
    db::migrate(&config.database_url, ledger::ALL_MIGRATIONS)
        .await
        .context("migrating the notifier database")?;
    let pool = db::pool(&config.database_url, &config.pool)?;

    let ready: ops::ReadinessCheck = {
        let pool = pool.clone();
        Arc::new(move || {
            let pool = pool.clone();
            Box::pin(async move { db::ping(&pool).await.map_err(|e| e.to_string()) })
        })
    };
    let listener = runtime::serve::bind(config.addr)
        .await
        .with_context(|| format!("binding {}", config.addr))?;
    // The router installs the metrics recorder; counters described before it would be lost.
    let router = ops::router(SERVICE, ready);
    handler::describe_metrics();
    let server = tokio::spawn(runtime::serve::serve(listener, router, shutdown.clone()));

    let result = consume(
        &config,
        Ledger::new(pool.clone()),
        CustomerContacts::new(pool),
        shutdown.clone(),
    )
    .await;
    shutdown.trigger();
    server.await??;
    tracing::info!("notifier stopped");
    result
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
    if !ensure_topics(config, &all, &shutdown).await {
        return Ok(());
    }
    let backoff = RetryPolicy {
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

/// Creates the topics the notifier reads and writes, waiting for the broker if it is not up
/// yet; false if shutdown came first.
async fn ensure_topics(config: &Config, topics: &[&str], shutdown: &Shutdown) -> bool {
    let backoff = RetryPolicy::default();
    let mut attempt = 0;
    loop {
        match config.kafka.ensure_topics(topics).await {
            Ok(()) => return true,
            Err(e) => {
                let delay = backoff.delay(attempt);
                attempt += 1;
                tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "creating topics failed; retrying");
                tokio::select! {
                    _ = shutdown.requested() => return false,
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
}
