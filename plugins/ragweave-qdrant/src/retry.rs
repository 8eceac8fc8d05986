//! Core's retry policy applied to this plugin's errors.

use std::future::Future;

pub use ragweave_core::RetryPolicy;
use ragweave_core::Retryable;

use crate::error::QdrantError;

impl Retryable for QdrantError {
    fn is_transient(&self) -> bool {
        QdrantError::is_transient(self)
    }

    fn retry_after(&self) -> Option<std::time::Duration> {
        QdrantError::retry_after(self)
    }
}

/// Runs `op` under `policy`; a transient failure that outlasted the attempts is
/// [`QdrantError::GaveUp`], naming the server and the operation.
pub(crate) async fn run<T, F, Fut>(
    policy: &RetryPolicy,
    url: &str,
    operation: &'static str,
    op: F,
) -> Result<T, QdrantError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, QdrantError>>,
{
    policy.run(op).await.map_err(|failure| {
        failure.into_error(|last, attempts| QdrantError::GaveUp {
            url: url.into(),
            operation,
            attempts,
            last: Box::new(last),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    fn policy(attempts: u32) -> RetryPolicy {
        RetryPolicy {
            attempts,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(4),
        }
    }

    #[tokio::test]
    async fn a_servers_retry_after_is_waited_out() {
        let tries = AtomicU32::new(0);
        let started = std::time::Instant::now();
        let r = run(&policy(3), "u", "upsert", || async {
            if tries.fetch_add(1, Ordering::SeqCst) == 0 {
                return Err(QdrantError::Server {
                    url: "u".into(),
                    collection: "c".into(),
                    operation: "upsert",
                    code: tonic::Code::ResourceExhausted,
                    message: "rate limited".into(),
                    retry_after: Some(Duration::from_millis(150)),
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
        let r: Result<(), _> = run(&policy(5), "u", "upsert", || async {
            tries.fetch_add(1, Ordering::SeqCst);
            Err(QdrantError::Unauthorized {
                url: "u".into(),
                reason: "bad key".into(),
            })
        })
        .await;
        assert!(matches!(r, Err(QdrantError::Unauthorized { .. })));
        assert_eq!(tries.load(Ordering::SeqCst), 1);

        let tries = AtomicU32::new(0);
        let r: Result<(), _> = run(&policy(3), "u", "upsert", || async {
            tries.fetch_add(1, Ordering::SeqCst);
            Err(QdrantError::Unreachable {
                url: "u".into(),
                reason: "refused".into(),
            })
        })
        .await;
        assert!(
            matches!(r, Err(QdrantError::GaveUp { attempts: 3, .. })),
            "{r:?}"
        );
        assert_eq!(tries.load(Ordering::SeqCst), 3);
    }
}
