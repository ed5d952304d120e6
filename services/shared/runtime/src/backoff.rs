//! The platform's one backoff: exponential with jitter between a floor and a ceiling, by
//! consecutive failures (backon computes it), and the retry-until-it-works loop the workers run
//! while a dependency is not up yet.

use crate::Shutdown;
use backon::BackoffBuilder;
use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub min: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            min: Duration::from_millis(200),
            max: Duration::from_secs(10),
        }
    }
}

impl Backoff {
    /// The wait after `attempt` consecutive failures (0 for the first).
    pub fn delay(&self, attempt: u32) -> Duration {
        backon::ExponentialBuilder::default()
            .with_min_delay(self.min)
            .with_max_delay(self.max)
            .with_jitter()
            .without_max_times()
            .build()
            .nth(attempt.min(20) as usize)
            .map_or(self.max, |d| d.min(self.max))
    }

    /// Runs `attempt` until it succeeds, logging each failure as `what` and waiting between
    /// them; `None` if `shutdown` comes first.
    pub async fn until_ok<T, E, Fut>(
        &self,
        what: &str,
        shutdown: &Shutdown,
        mut attempt: impl FnMut() -> Fut,
    ) -> Option<T>
    where
        E: Display,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut failures = 0;
        loop {
            match attempt().await {
                Ok(value) => return Some(value),
                Err(e) => {
                    let delay = self.delay(failures);
                    failures += 1;
                    tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "{what} failed; retrying");
                    tokio::select! {
                        _ = shutdown.requested() => return None,
                        _ = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_stay_between_floor_and_ceiling_and_grow() {
        let backoff = Backoff {
            min: Duration::from_millis(100),
            max: Duration::from_secs(2),
        };
        for attempt in 0..30 {
            let d = backoff.delay(attempt);
            assert!(d >= backoff.min && d <= backoff.max, "{attempt}: {d:?}");
        }
        assert_eq!(backoff.delay(25), backoff.max);
    }

    #[tokio::test]
    async fn until_ok_retries_failures_and_returns_the_first_success() {
        let backoff = Backoff {
            min: Duration::from_millis(1),
            max: Duration::from_millis(2),
        };
        let mut calls = 0;
        let got = backoff
            .until_ok("the test call", &Shutdown::new(), || {
                calls += 1;
                let n = calls;
                async move {
                    if n < 3 {
                        Err("not yet")
                    } else {
                        Ok(n)
                    }
                }
            })
            .await;
        assert_eq!(got, Some(3));
    }

    #[tokio::test]
    async fn until_ok_gives_up_at_shutdown() {
        let shutdown = Shutdown::new();
        shutdown.trigger();
        let got: Option<()> = Backoff::default()
            .until_ok("the test call", &shutdown, || async { Err("never") })
            .await;
        assert_eq!(got, None);
    }
}
