//! Retrying transient failures with exponential backoff, for plugins that talk to servers.

use std::future::Future;
use std::time::Duration;

/// An error that knows whether a retry may succeed, and how long its server asked to wait.
pub trait Retryable {
    /// Whether the same call may succeed if retried.
    fn is_transient(&self) -> bool;

    /// How long the server asked the client to wait (`Retry-After`, `retry-after`), if it did.
    fn retry_after(&self) -> Option<Duration> {
        None
    }
}

impl Retryable for crate::Error {
    fn is_transient(&self) -> bool {
        crate::Error::is_transient(self)
    }
}

/// How transient failures ([`Retryable::is_transient`]) are retried: up to `attempts`
/// tries in all, sleeping `initial_backoff`, then twice that, ... up to `max_backoff`
/// between them, each sleep with up to a quarter added at random so that many clients do
/// not retry in step, and never shorter than a server's [`Retryable::retry_after`].
/// Permanent failures return at once.
///
/// ```
/// use std::time::Duration;
/// use ragweave_core::{Error, RetryPolicy};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let policy = RetryPolicy { attempts: 3, initial_backoff: Duration::from_millis(1), ..RetryPolicy::default() };
/// let mut tries = 0;
/// let out = policy
///     .run(|| {
///         tries += 1;
///         let ok = tries == 3;
///         async move { if ok { Ok(tries) } else { Err(Error::transient("server", "busy")) } }
///     })
///     .await;
/// assert_eq!(out.unwrap(), 3);
/// # }
/// ```
///
/// Its fields are also config fields (`attempts`, `initial_backoff_ms`, `max_backoff_ms`) of
/// the components that talk to servers.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RetryPolicy {
    /// Tries in all, the first included (1 = no retries).
    pub attempts: u32,
    /// The first sleep between tries, in milliseconds.
    #[serde(
        rename = "initial_backoff_ms",
        with = "crate::config::duration::millis"
    )]
    #[schemars(rename = "initial_backoff_ms", with = "u64")]
    pub initial_backoff: Duration,
    /// The longest sleep between tries, in milliseconds.
    #[serde(rename = "max_backoff_ms", with = "crate::config::duration::millis")]
    #[schemars(rename = "max_backoff_ms", with = "u64")]
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 10 attempts from 100 ms up to 5 s: about 20 s of patience, enough for a server
    /// restart.
    fn default() -> Self {
        Self {
            attempts: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// The last error of a call that [`RetryPolicy::run`] gave up on, and how many tries it made.
#[derive(Debug)]
pub struct RetryFailure<E> {
    /// The last error.
    pub last: E,
    /// Tries made, the first included; 1 when the error was permanent or no retry was allowed.
    pub attempts: u32,
}

impl<E: Retryable> RetryFailure<E> {
    /// The error to report: the last one as it is when it was permanent or when no retry was
    /// allowed, else what `gave_up` makes of it and the number of tries.
    pub fn into_error(self, gave_up: impl FnOnce(E, u32) -> E) -> E {
        if self.attempts == 1 || !self.last.is_transient() {
            self.last
        } else {
            gave_up(self.last, self.attempts)
        }
    }
}

impl RetryPolicy {
    /// No retries.
    pub fn none() -> Self {
        Self {
            attempts: 1,
            ..Self::default()
        }
    }

    /// The sleep before try `n + 1` (n from 1), without jitter.
    pub fn backoff(&self, n: u32) -> Duration {
        let factor = 2u32.saturating_pow(n.saturating_sub(1));
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }

    /// Runs `op` until it succeeds, fails permanently, or the attempts are spent.
    pub async fn run<T, E, F, Fut>(&self, mut op: F) -> Result<T, RetryFailure<E>>
    where
        E: Retryable + std::error::Error + 'static,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let attempts = self.attempts.max(1);
        let mut n = 0;
        loop {
            n += 1;
            match op().await {
                Ok(v) => return Ok(v),
                Err(last) if !last.is_transient() || n >= attempts => {
                    return Err(RetryFailure { last, attempts: n });
                }
                Err(e) => {
                    // A server that says how long to wait is believed.
                    let sleep = jitter(self.backoff(n)).max(e.retry_after().unwrap_or_default());
                    tracing::warn!(error = %crate::Report::of(&e), attempt = n, ?sleep, "retrying");
                    tokio::time::sleep(sleep).await;
                }
            }
        }
    }
}

/// `d` plus up to a quarter of it, from the clock's nanoseconds (no RNG dependency needed
/// for spreading retries).
fn jitter(d: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|t| t.subsec_nanos())
        .unwrap_or(0);
    d + d.mul_f64(f64::from(nanos % 1000) / 4000.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn policy(attempts: u32) -> RetryPolicy {
        RetryPolicy {
            attempts,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(4),
        }
    }

    #[derive(Debug)]
    struct Failure {
        transient: bool,
        wait: Option<Duration>,
    }

    impl std::fmt::Display for Failure {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "failure")
        }
    }

    impl std::error::Error for Failure {}

    impl Retryable for Failure {
        fn is_transient(&self) -> bool {
            self.transient
        }
        fn retry_after(&self) -> Option<Duration> {
            self.wait
        }
    }

    const DOWN: Failure = Failure {
        transient: true,
        wait: None,
    };

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(1), Duration::from_millis(100));
        assert_eq!(p.backoff(2), Duration::from_millis(200));
        assert_eq!(p.backoff(7), Duration::from_secs(5));
        assert_eq!(p.backoff(40), Duration::from_secs(5));
    }

    #[tokio::test]
    async fn transient_failures_are_retried_until_success() {
        let tries = AtomicU32::new(0);
        let r = policy(5)
            .run(|| async {
                match tries.fetch_add(1, Ordering::SeqCst) {
                    0..=2 => Err(DOWN),
                    _ => Ok(7),
                }
            })
            .await;
        assert_eq!(r.unwrap(), 7);
        assert_eq!(tries.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn a_servers_retry_after_is_waited_out() {
        let tries = AtomicU32::new(0);
        let started = std::time::Instant::now();
        let r = policy(3)
            .run(|| async {
                if tries.fetch_add(1, Ordering::SeqCst) == 0 {
                    return Err(Failure {
                        transient: true,
                        wait: Some(Duration::from_millis(150)),
                    });
                }
                Ok(())
            })
            .await;
        assert!(r.is_ok());
        assert!(
            started.elapsed() >= Duration::from_millis(150),
            "backoff is 1 ms"
        );
    }

    #[tokio::test]
    async fn permanent_failures_are_not_retried_and_attempts_run_out() {
        let tries = AtomicU32::new(0);
        let r: Result<(), _> = policy(5)
            .run(|| async {
                tries.fetch_add(1, Ordering::SeqCst);
                Err(Failure {
                    transient: false,
                    wait: None,
                })
            })
            .await;
        assert_eq!(r.unwrap_err().attempts, 1);
        assert_eq!(tries.load(Ordering::SeqCst), 1);

        let tries = AtomicU32::new(0);
        let r: Result<(), _> = policy(3)
            .run(|| async {
                tries.fetch_add(1, Ordering::SeqCst);
                Err(DOWN)
            })
            .await;
        assert_eq!(r.unwrap_err().attempts, 3);
        assert_eq!(tries.load(Ordering::SeqCst), 3);
    }
}
