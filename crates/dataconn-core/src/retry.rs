//! [`RetryPolicy`]: retry temporary failures with exponential backoff and full jitter, within a
//! bounded number of attempts and a total time budget.
//!
//! Which errors are worth retrying is the caller's call (a read can be retried after a dropped
//! connection; a write only when it surely did not apply). The number of retries is recorded on
//! the current tracing span's `retries` field.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// How often and how long to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0: never retry).
    pub retries: u32,
    /// The backoff ceiling of the first retry; it doubles with each retry.
    pub initial_backoff: Duration,
    /// The largest backoff ceiling.
    pub max_backoff: Duration,
    /// No retry starts after this much time since the first attempt.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    /// 3 retries, 100 ms doubling to at most 2 s, within 30 s.
    fn default() -> Self {
        RetryPolicy {
            retries: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            budget: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        RetryPolicy {
            retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// The wait before retry number `retry` (0-based): uniformly random in
    /// `[0, min(max_backoff, initial_backoff × 2^retry)]` ("full jitter").
    pub fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self
            .initial_backoff
            .saturating_mul(2u32.saturating_pow(retry))
            .min(self.max_backoff);
        ceiling.mul_f64(fastrand::f64())
    }

    /// Run `attempt` until it succeeds, fails with an error `retryable` rejects, or the
    /// retries or the budget run out; then return the last error.
    ///
    /// # Errors
    /// The last attempt's error.
    pub async fn run<T, F, Fut>(
        &self,
        mut attempt: F,
        retryable: impl Fn(&Error) -> bool,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let started = Instant::now();
        let mut retry = 0;
        loop {
            match attempt().await {
                Ok(value) => return Ok(value),
                Err(err) => {
                    let wait = self.backoff(retry);
                    let within_budget = started.elapsed() + wait <= self.budget;
                    if retry >= self.retries || !within_budget || !retryable(&err) {
                        return Err(err);
                    }
                    retry += 1;
                    tracing::Span::current().record("retries", retry);
                    tracing::warn!(error = %err, retry, wait_ms = wait.as_millis() as u64, "retrying after a temporary failure");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn quick(retries: u32) -> RetryPolicy {
        RetryPolicy {
            retries,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(4),
            budget: Duration::from_secs(5),
        }
    }

    #[tokio::test]
    async fn temporary_failures_are_retried_until_success() {
        let calls = AtomicU32::new(0);
        let value = quick(3)
            .run(
                || async {
                    if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                        Err(Error::new(ErrorKind::Connect, "refused"))
                    } else {
                        Ok(7)
                    }
                },
                Error::is_temporary,
            )
            .await
            .unwrap();
        assert_eq!((value, calls.load(Ordering::SeqCst)), (7, 3));
    }

    #[tokio::test]
    async fn permanent_failures_and_exhausted_retries_stop() {
        let calls = AtomicU32::new(0);
        let err = quick(3)
            .run(
                || async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Err::<(), _>(Error::query("syntax error"))
                },
                Error::is_temporary,
            )
            .await
            .unwrap_err();
        assert_eq!(
            (err.kind(), calls.load(Ordering::SeqCst)),
            (ErrorKind::Query, 1)
        );

        let calls = AtomicU32::new(0);
        quick(2)
            .run(
                || async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Err::<(), _>(Error::new(ErrorKind::Timeout, "slow"))
                },
                Error::is_temporary,
            )
            .await
            .unwrap_err();
        assert_eq!(
            calls.load(Ordering::SeqCst),
            3,
            "first attempt plus two retries"
        );
    }

    #[test]
    fn backoff_doubles_up_to_the_ceiling_with_jitter() {
        let p = RetryPolicy::default();
        for retry in 0..10 {
            let ceiling = Duration::from_millis(100)
                .saturating_mul(1 << retry)
                .min(Duration::from_secs(2));
            assert!(p.backoff(retry) <= ceiling);
        }
    }
}
