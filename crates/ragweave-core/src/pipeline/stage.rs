//! Running one stage under its time limit.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// Awaits `fut`, failing with [`Error::Timeout`] for `stage` if `limit` passes first.
pub(crate) async fn timed<T>(
    stage: &str,
    limit: Option<Duration>,
    fut: impl Future<Output = Result<T>>,
) -> Result<T> {
    match limit {
        None => fut.await,
        Some(after) => tokio::time::timeout(after, fut).await.unwrap_or_else(|_| {
            Err(Error::Timeout {
                stage: stage.to_string(),
                after,
            })
        }),
    }
}

/// Pairs a future's output with the time since `started`, so concurrent experts each get
/// their own duration in the trace.
pub(crate) trait WithElapsed: Future + Sized {
    fn map_with_elapsed(self, started: Instant) -> impl Future<Output = (Self::Output, Duration)> {
        async move {
            let out = self.await;
            (out, started.elapsed())
        }
    }
}

impl<F: Future> WithElapsed for F {}
