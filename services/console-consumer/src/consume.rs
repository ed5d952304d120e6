//! The consuming loop: subscribe (with a group) or read every partition directly (without),
//! print each record, stop at `--max-messages`, `--timeout-ms` of silence, or Ctrl-C.
//!
//! Given a schema registry, a value in Confluent's wire format (first byte 0) is printed as
//! the JSON event it encodes, like kafka-avro-console-consumer; other values as they are.

use crate::{cli::Args, format::View};
use codec::EventDecoder;
use rdkafka::{
    config::ClientConfig,
    consumer::{BaseConsumer, Consumer, StreamConsumer},
    message::Headers,
    Message, Offset, TopicPartitionList,
};
use std::{
    io::Write,
    time::{Duration, Instant},
};

/// Consumes until a stop condition; returns how many records were printed.
pub async fn run(args: &Args) -> anyhow::Result<u64> {
    let layout = args.layout()?;
    let decoder = args.registry_url().map(|url| EventDecoder::new(&url));
    let silence = args.timeout_ms.map(Duration::from_millis);
    let Some(consumer) = connect(args, silence.map(|s| Instant::now() + s)).await? else {
        return Ok(0); // the topic never appeared within --timeout-ms
    };
    let stdout = std::io::stdout();
    let mut processed = 0u64;
    while args.max_messages.is_none_or(|max| processed < max) {
        let next = consumer.recv();
        let message = tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            m = async {
                match silence {
                    Some(limit) => tokio::time::timeout(limit, next).await.ok(),
                    None => Some(next.await),
                }
            } => match m {
                None => break, // --timeout-ms passed with no record
                Some(m) => m?,
            },
        };
        let headers = message
            .headers()
            .map(|h| h.iter().map(|h| (h.key, h.value)).collect())
            .unwrap_or_default();
        let decoded = match (&decoder, message.payload()) {
            (Some(decoder), Some(value @ [codec::MAGIC_BYTE, ..])) => {
                match decoder.decode_json(Some(value)).await {
                    Ok(json) => Some(json.to_string().into_bytes()),
                    Err(e) => {
                        eprintln!("offset {}: {e}", message.offset());
                        None
                    }
                }
            }
            _ => None,
        };
        let line = layout.render(&View {
            key: message.key(),
            value: decoded.as_deref().or(message.payload()),
            timestamp_ms: message.timestamp().to_millis(),
            partition: message.partition(),
            offset: message.offset(),
            headers,
        });
        let mut out = stdout.lock();
        writeln!(out, "{line}")?;
        out.flush()?;
        processed += 1;
        if args.group.is_some() {
            consumer.store_offset_from_message(&message)?;
        }
    }
    if args.group.is_some() && processed > 0 {
        consumer.commit_consumer_state(rdkafka::consumer::CommitMode::Sync)?;
    }
    Ok(processed)
}

async fn connect(args: &Args, deadline: Option<Instant>) -> anyhow::Result<Option<StreamConsumer>> {
    let group = args
        .group
        .clone()
        .unwrap_or_else(|| format!("console-consumer-{}", std::process::id()));
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &args.bootstrap_server)
        .set("group.id", &group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set(
            "auto.offset.reset",
            if args.from_beginning {
                "earliest"
            } else {
                "latest"
            },
        )
        // A named group's member that is gone is noticed in 6 s, not librdkafka's 45 s.
        .set("session.timeout.ms", "6000")
        .create()?;
    if args.group.is_some() {
        consumer.subscribe(&[&args.topic])?;
        return Ok(Some(consumer));
    }
    let Some(partitions) =
        wait_for_partitions(&args.bootstrap_server, &args.topic, deadline).await?
    else {
        return Ok(None);
    };
    let start = if args.from_beginning {
        Offset::Beginning
    } else {
        Offset::End
    };
    let mut assignment = TopicPartitionList::new();
    for partition in partitions {
        assignment.add_partition_offset(&args.topic, partition, start)?;
    }
    consumer.assign(&assignment)?;
    Ok(Some(consumer))
}

/// The topic's partitions, waiting for the topic to be created (as a relay does on first event).
async fn wait_for_partitions(
    bootstrap: &str,
    topic: &str,
    deadline: Option<Instant>,
) -> anyhow::Result<Option<Vec<i32>>> {
    let probe: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()?;
    let mut announced = Instant::now();
    loop {
        let metadata = probe.fetch_metadata(Some(topic), Duration::from_secs(5));
        if let Ok(metadata) = &metadata {
            if let Some(t) = metadata
                .topics()
                .iter()
                .find(|t| t.name() == topic && t.error().is_none())
            {
                if !t.partitions().is_empty() {
                    return Ok(Some(t.partitions().iter().map(|p| p.id()).collect()));
                }
            }
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(None);
        }
        if announced.elapsed() >= Duration::from_secs(5) {
            eprintln!("waiting for topic {topic} on {bootstrap} ...");
            announced = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
