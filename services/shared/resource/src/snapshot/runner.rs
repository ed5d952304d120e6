//! The loop that works through a resource's running snapshots, chunk by chunk, beside the API.
//! It resumes whatever was running when the process stopped: the state is in the table.

use super::{Snapshots, Step};
use crate::http::Api;
use runtime::{backoff::Backoff, Shutdown};
use std::time::Duration;

/// How often an idle runner looks for work it was not woken for (a snapshot started on
/// another instance of the API, or one whose runner died).
const IDLE_POLL: Duration = Duration::from_secs(5);

pub struct Runner<R> {
    snapshots: Snapshots<R>,
}

impl<R: Api> Runner<R> {
    pub(super) fn new(snapshots: Snapshots<R>) -> Self {
        Self { snapshots }
    }

    /// Runs chunks until `shutdown`; a chunk in progress commits or rolls back whole.
    pub async fn run(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let backoff = Backoff::default();
        let pause = self.snapshots.args.snapshot_chunk_pause;
        let mut failures = 0;
        while !shutdown.is_triggered() {
            let wait = match self.snapshots.step().await {
                Ok(Step::Chunk(_)) => {
                    failures = 0;
                    pause
                }
                Ok(Step::Finished) => Duration::ZERO,
                Ok(Step::Idle) => {
                    tokio::select! {
                        _ = shutdown.requested() => {}
                        _ = self.snapshots.wake.notified() => {}
                        _ = tokio::time::sleep(IDLE_POLL) => {}
                    }
                    continue;
                }
                Err(e) => {
                    let delay = backoff.delay(failures);
                    failures += 1;
                    tracing::warn!(aggregate = R::AGGREGATE.name, error = %e, retry_in_ms = delay.as_millis() as u64, "snapshot chunk failed; retrying");
                    delay
                }
            };
            if !wait.is_zero() {
                tokio::select! {
                    _ = shutdown.requested() => {}
                    _ = tokio::time::sleep(wait) => {}
                }
            }
        }
        Ok(())
    }
}
