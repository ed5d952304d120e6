//! `GET /api/v1/events/stream`: the live event feed as server-sent events.
//!
//! A browser's `EventSource` cannot send an `Authorization` header, so this one endpoint also
//! takes the bearer token as a `token` query parameter (`?token=<jwt>`); any valid token will
//! do, reader or admin. Other clients may send `Authorization: Bearer` as everywhere else. A
//! URL with a token must not end up in logs: this route stays outside the request-logging
//! layer (its span names the path only), and the stream ends when the token expires, so a
//! leaked URL is worth no more than the token's remaining lifetime.
//!
//! Each change arrives as `event: change` with the change event's id as the SSE `id` and as
//! `data` the JSON of [`crate::feed::live_event`]: `op`, `topic`, `key`, `version`, `type`,
//! `aggregate_id`, `diff` (`{field: [old, new]}`), `before`, `after`. The stream opens with
//! `event: ready` (`{"topics": [...]}`); a watcher that fell behind gets `event: lagged`
//! (`{"missed": n}`). Comments keep idle connections alive.
//!
//! Open streams are capped ([`StreamLimits`]): `GATEWAY_MAX_STREAMS` in all and
//! `GATEWAY_MAX_STREAMS_PER_USER` per token subject; past either, 429.

use crate::feed::{EventFeed, LiveEvent};
use axum::{
    extract::{Query, State},
    http::HeaderMap,
    response::{
        sse::{Event, KeepAlive},
        IntoResponse, Response, Sse,
    },
    routing::get,
    Router,
};
use futures::{stream, Stream, StreamExt};
use runtime::Shutdown;
use serde_json::json;
use std::{
    collections::HashMap,
    convert::Infallible,
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::sync::broadcast::{error::RecvError, Receiver};
use tracing::Instrument;
use web::{
    auth::{unauthorized, Claims, JwtKeys},
    ApiError,
};

pub const STREAM_PATH: &str = "/api/v1/events/stream";

/// How many live streams may be open, in all and per user; a stream holds its slot until it
/// ends, however it ends.
#[derive(Clone)]
pub struct StreamLimits(Arc<Limits>);

struct Limits {
    total: usize,
    per_user: usize,
    open: Mutex<HashMap<String, usize>>,
}

/// One open stream's slot, given back when dropped.
pub struct StreamSlot {
    limits: StreamLimits,
    user: String,
}

impl StreamLimits {
    pub fn new(total: usize, per_user: usize) -> Self {
        Self(Arc::new(Limits {
            total,
            per_user,
            open: Mutex::new(HashMap::new()),
        }))
    }

    /// A slot for one more stream of `user`, or why not.
    pub fn acquire(&self, user: &str) -> Result<StreamSlot, ApiError> {
        let mut open = self.0.open.lock().expect("stream limits");
        let too_many = |message: String| ApiError::TooManyRequests {
            message,
            retry_after_secs: 5,
        };
        if open.values().sum::<usize>() >= self.0.total {
            return Err(too_many(format!(
                "the gateway serves at most {} live streams at once; try again later",
                self.0.total
            )));
        }
        let mine = open.entry(user.to_owned()).or_default();
        if *mine >= self.0.per_user {
            return Err(too_many(format!(
                "at most {} live streams per user; close one first",
                self.0.per_user
            )));
        }
        *mine += 1;
        Ok(StreamSlot {
            limits: self.clone(),
            user: user.to_owned(),
        })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.limits.0.open.lock().expect("stream limits");
        if let Some(count) = open.get_mut(&self.user) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.user);
            }
        }
    }
}

#[derive(Clone)]
pub struct EventsState {
    pub feed: EventFeed,
    pub keys: JwtKeys,
    pub limits: StreamLimits,
    /// Open streams end when the gateway shuts down (graceful shutdown waits for them).
    pub shutdown: Shutdown,
}

pub fn router(state: EventsState) -> Router {
    Router::new()
        .route(STREAM_PATH, get(stream_events))
        .with_state(state)
}

/// The caller's claims: from `?token=`, else from `Authorization: Bearer`.
fn authenticate(
    keys: &JwtKeys,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<Claims, ApiError> {
    match query.get("token") {
        Some(token) => keys.verify(token.trim()).map_err(unauthorized),
        None => keys.authenticate(headers),
    }
}

async fn stream_events(
    State(state): State<EventsState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let span = tracing::info_span!("request", method = "GET", path = STREAM_PATH);
    let claims = span.in_scope(|| authenticate(&state.keys, &query, &headers))?;
    let slot = state.limits.acquire(&claims.sub)?;
    let receiver = state.feed.subscribe();
    span.in_scope(|| tracing::info!(user = %claims.sub, "live event stream opened"));
    let ready = Event::default()
        .event("ready")
        .json_data(json!({"topics": state.feed.topics()}))
        .expect("JSON of strings");
    let lifetime =
        Duration::from_secs(u64::try_from(claims.exp - chrono_now()).unwrap_or_default());
    let shutdown = state.shutdown.clone();
    let end = async move {
        tokio::select! {
            _ = shutdown.requested() => {}
            _ = tokio::time::sleep(lifetime) => {}
        }
    }
    .instrument(span);
    let events = stream::once(async { Ok(ready) })
        .chain(changes(receiver))
        .take_until(end)
        // The slot goes with the stream: freed when the client leaves or the stream ends.
        .map(move |event| {
            let _held = &slot;
            event
        });
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Every change from the feed as an SSE message, and a note whenever some were missed.
fn changes(receiver: Receiver<LiveEvent>) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(receiver, |mut receiver| async move {
        let message = match receiver.recv().await {
            Ok(event) => Event::default()
                .event("change")
                .id(event.id)
                .data(event.json.as_ref()),
            Err(RecvError::Lagged(missed)) => Event::default()
                .event("lagged")
                .data(json!({ "missed": missed }).to_string()),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(message), receiver))
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn streams_are_capped_per_user_and_in_all_and_a_closed_one_frees_its_slot() {
        let limits = super::StreamLimits::new(3, 2);
        let a1 = limits.acquire("ada").unwrap();
        let _a2 = limits.acquire("ada").unwrap();
        assert!(limits.acquire("ada").is_err(), "a third for one user");
        let _b1 = limits.acquire("bob").unwrap();
        assert!(limits.acquire("eve").is_err(), "a fourth in all");
        drop(a1);
        assert!(
            limits.acquire("ada").is_ok(),
            "the closed stream's slot is free again"
        );
    }
}
