//! The order generator: a background task that places a random order every tick, for demos and
//! for load, through exactly the path an API client's order takes ([`crate::store::place`]).
//!
//! It starts stopped. `start` begins ticking (or, when it is already running, retunes the
//! interval from the next tick on); `stop` ends the run after the order in flight, so once it
//! returns no further order appears; `start` after `stop` begins a new run. Process shutdown
//! stops it too. The counters cover the life of the process, across runs; the state is per
//! process (two instances each run their own generator).

use crate::{
    domain::{OrderInput, TickInterval},
    store::{self, OrderStore, Origin},
};
use rand::Rng;
use runtime::Shutdown;
use serde::{Deserialize, Serialize};
use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};
use tokio::{sync::watch, task::JoinHandle, time::Instant};
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;

/// Gauge: 1 while the generator runs.
pub const RUNNING: &str = "order_generator_running";
/// Counter: ticks whose order could not be placed (e.g. the database was down).
pub const FAILED: &str = "order_generator_failed_total";

const SYMBOL_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// Whether the generator is placing orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    Running,
    Stopped,
}

/// What `GET /api/v1/orders/generator` answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GeneratorStatus {
    pub state: RunState,
    /// Milliseconds between orders (of the current run, or of the last one when stopped).
    pub interval_ms: u64,
    /// Orders the generator placed since the process started, across runs.
    pub orders_made: u64,
    /// Ticks whose order could not be placed since the process started.
    pub failed_ticks: u64,
}

#[derive(Clone)]
pub struct OrderGenerator {
    inner: Arc<Inner>,
}

struct Inner {
    store: OrderStore,
    shutdown: Shutdown,
    made: AtomicU64,
    failed: AtomicU64,
    /// Held across the join in `stop`, so start and stop never interleave.
    state: tokio::sync::Mutex<State>,
}

struct State {
    interval: TickInterval,
    run: Option<Run>,
}

/// One run: from a `start` of a stopped generator to the next `stop`.
struct Run {
    stop: CancellationToken,
    interval: watch::Sender<TickInterval>,
    task: JoinHandle<()>,
}

impl OrderGenerator {
    /// A stopped generator placing orders through `store`; it never runs past `shutdown`.
    pub fn new(store: OrderStore, shutdown: Shutdown) -> Self {
        metrics::describe_gauge!(RUNNING, "1 while the order generator runs.");
        metrics::describe_counter!(FAILED, "Generator ticks whose order could not be placed.");
        metrics::gauge!(RUNNING).set(0.0);
        Self {
            inner: Arc::new(Inner {
                store,
                shutdown,
                made: AtomicU64::new(0),
                failed: AtomicU64::new(0),
                state: tokio::sync::Mutex::new(State {
                    interval: TickInterval::default(),
                    run: None,
                }),
            }),
        }
    }

    pub async fn status(&self) -> GeneratorStatus {
        let state = self.inner.state.lock().await;
        self.status_of(&state)
    }

    /// Starts a run, or retunes the running one to `interval`.
    pub async fn start(&self, interval: TickInterval) -> GeneratorStatus {
        let mut state = self.inner.state.lock().await;
        state.interval = interval;
        match &state.run {
            Some(run) if !run.task.is_finished() => {
                run.interval.send_replace(interval);
                tracing::info!(
                    interval_ms = interval.get().as_millis() as u64,
                    "order generator retuned"
                );
            }
            _ if self.inner.shutdown.is_triggered() => {
                tracing::info!("not starting the order generator: shutting down");
            }
            _ => {
                let stop = CancellationToken::new();
                let (sender, receiver) = watch::channel(interval);
                let task = tokio::spawn(self.clone().run(stop.clone(), receiver));
                state.run = Some(Run {
                    stop,
                    interval: sender,
                    task,
                });
                metrics::gauge!(RUNNING).set(1.0);
                tracing::info!(
                    interval_ms = interval.get().as_millis() as u64,
                    "order generator started"
                );
            }
        }
        self.status_of(&state)
    }

    /// Ends the run (if any) once its order in flight is placed.
    pub async fn stop(&self) -> GeneratorStatus {
        let mut state = self.inner.state.lock().await;
        if let Some(run) = state.run.take() {
            run.stop.cancel();
            if let Err(e) = run.task.await {
                tracing::error!(error = %e, "the order generator task failed");
            }
            metrics::gauge!(RUNNING).set(0.0);
            tracing::info!(
                orders_made = self.inner.made.load(Ordering::Relaxed),
                "order generator stopped"
            );
        }
        self.status_of(&state)
    }

    fn status_of(&self, state: &State) -> GeneratorStatus {
        let running = state.run.as_ref().is_some_and(|r| !r.task.is_finished());
        GeneratorStatus {
            state: if running {
                RunState::Running
            } else {
                RunState::Stopped
            },
            interval_ms: state.interval.get().as_millis() as u64,
            orders_made: self.inner.made.load(Ordering::Relaxed),
            failed_ticks: self.inner.failed.load(Ordering::Relaxed),
        }
    }

    /// Places an order each tick until `stop` or shutdown. A tick that comes due while the
    /// previous order is still being placed is not made up for: the rate never bursts.
    async fn run(self, stop: CancellationToken, mut interval: watch::Receiver<TickInterval>) {
        let mut period = interval.borrow_and_update().get();
        let mut last = Instant::now();
        loop {
            tokio::select! {
                biased;
                _ = stop.cancelled() => break,
                _ = self.inner.shutdown.requested() => break,
                changed = interval.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    period = interval.borrow_and_update().get();
                    continue;
                }
                _ = tokio::time::sleep_until(last + period) => {}
            }
            last = Instant::now();
            self.tick().await;
        }
        metrics::gauge!(RUNNING).set(0.0);
    }

    async fn tick(&self) {
        let input = random_order();
        match store::place(&self.inner.store, &input, Origin::Generator).await {
            Ok(order) => {
                self.inner.made.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(id = %order.id, symbol = %order.symbol, quantity = order.quantity, "generated an order");
            }
            Err(e) => {
                self.inner.failed.fetch_add(1, Ordering::Relaxed);
                metrics::counter!(FAILED).increment(1);
                tracing::warn!(error = %e, "the generator could not place an order");
            }
        }
    }
}

/// A random order: a 3-character symbol of A–Z and 0–9, a quantity from 1 to 10, no customer.
pub fn random_order() -> OrderInput {
    let mut rng = rand::rng();
    let symbol = (0..3)
        .map(|_| SYMBOL_ALPHABET[rng.random_range(0..SYMBOL_ALPHABET.len())] as char)
        .collect();
    OrderInput {
        symbol,
        quantity: rng.random_range(1..=10),
        customer_id: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_orders_are_valid_and_small() {
        for _ in 0..1000 {
            let input = random_order();
            assert_eq!(input.symbol.len(), 3, "{input:?}");
            assert!((1..=10).contains(&input.quantity), "{input:?}");
            assert!(input.parse().is_ok(), "{input:?}");
        }
    }
}
