//! `/api/v1/consumers` and `/api/v1/dlq`: how far behind each consumer group of the platform
//! is, what waits in the dead-letter topics, and the re-drive of dead letters once their
//! cause is fixed.
//!
//! - `GET /api/v1/consumers` (any valid token): per consumer (replicator, notifier,
//!   order-processor) its group and, per topic it reads, each partition's committed offset,
//!   log end offset and lag; per topic read, the dead letters in `<topic>.dlq` not yet
//!   re-driven. Read from the broker without joining any group (`kafka::groups`).
//! - `POST /api/v1/dlq/{topic}/redrive` (admin): re-publishes what waits in `<topic>.dlq` onto
//!   `<topic>` (`kafka::dead_letters::Redriver`) and answers how many. Only topics a platform
//!   consumer reads; anything else is 404.

use crate::config::ConsumerGroup;
use axum::{
    extract::{Path, State},
    routing::{get, post},
    Json, Router,
};
use futures::future::try_join_all;
use kafka::{dead_letters::Redriver, groups::TopicLag, KafkaArgs, KafkaError};
use serde::Serialize;
use std::{collections::BTreeSet, sync::Arc};
use web::{
    auth::{AccessPolicy, JwtKeys},
    ApiError,
};

#[derive(Clone)]
pub struct ConsumersState {
    pub kafka: KafkaArgs,
    pub groups: Arc<Vec<ConsumerGroup>>,
    pub redriver: Arc<Redriver>,
}

/// Reads for any valid token, the re-drive for admins.
pub fn router(state: ConsumersState, keys: JwtKeys) -> Router {
    let api = Router::new()
        .route("/api/v1/consumers", get(overview))
        .route("/api/v1/dlq/{topic}/redrive", post(redrive))
        .with_state(state);
    AccessPolicy::Jwt(keys).protect(api)
}

#[derive(Debug, Serialize)]
pub struct Overview {
    pub groups: Vec<GroupLag>,
    pub dead_letters: Vec<DeadLetters>,
}

#[derive(Debug, Serialize)]
pub struct GroupLag {
    pub consumer: &'static str,
    pub group: String,
    /// Summed over its topics.
    pub lag: i64,
    pub topics: Vec<TopicLag>,
}

#[derive(Debug, Serialize)]
pub struct DeadLetters {
    /// The topic whose consumers gave up on the messages, where a re-drive puts them back.
    pub topic: String,
    pub dead_letter_topic: String,
    /// Dead letters not re-driven yet.
    pub waiting: i64,
}

#[derive(Debug, Serialize)]
pub struct Redriven {
    pub topic: String,
    pub redriven: u64,
}

impl ConsumersState {
    /// Every topic a platform consumer reads, once, in a stable order.
    fn topics(&self) -> BTreeSet<&str> {
        self.groups
            .iter()
            .flat_map(|g| g.topics.iter().map(String::as_str))
            .collect()
    }
}

fn kafka_unavailable(e: KafkaError) -> ApiError {
    ApiError::Unavailable(format!("Kafka: {e}"))
}

async fn overview(State(state): State<ConsumersState>) -> Result<Json<Overview>, ApiError> {
    let groups = try_join_all(state.groups.iter().map(|g| async {
        let topics = state.kafka.group_lag(&g.group, &g.topics).await?;
        Ok::<_, KafkaError>(GroupLag {
            consumer: g.consumer,
            group: g.group.clone(),
            lag: topics.iter().map(|t| t.lag).sum(),
            topics,
        })
    }));
    let dead_letters = try_join_all(state.topics().into_iter().map(|topic| async {
        Ok::<_, KafkaError>(DeadLetters {
            topic: topic.to_owned(),
            dead_letter_topic: events::Topic::dead_letter(topic),
            waiting: state.redriver.waiting(topic).await?,
        })
    }));
    let (groups, dead_letters) =
        tokio::try_join!(groups, dead_letters).map_err(kafka_unavailable)?;
    Ok(Json(Overview {
        groups,
        dead_letters,
    }))
}

async fn redrive(
    State(state): State<ConsumersState>,
    Path(topic): Path<String>,
) -> Result<Json<Redriven>, ApiError> {
    if !state.topics().contains(topic.as_str()) {
        return Err(ApiError::NotFound(format!(
            "no consumer of the platform reads topic '{topic}', so it has no dead letters to re-drive"
        )));
    }
    let redriven = state
        .redriver
        .redrive(&topic)
        .await
        .map_err(kafka_unavailable)?;
    Ok(Json(Redriven { topic, redriven }))
}
