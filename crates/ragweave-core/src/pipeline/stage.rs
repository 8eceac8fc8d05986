//! Running one stage under its time limit.

use std::future::Future;
use std::time::{Duration, Instant};

use tracing::Instrument;

use crate::answer::Trace;
use crate::error::{Error, Result};

/// One pipeline stage: it runs under its time limit, inside its tracing span, its errors are
/// attributed to its component, and its duration goes into the trace.
pub(crate) struct Stage<'a> {
    name: &'a str,
    component: &'a str,
    limit: Option<Duration>,
    span: tracing::Span,
}

impl<'a> Stage<'a> {
    pub(crate) fn new(
        name: &'a str,
        component: &'a str,
        limit: Option<Duration>,
        span: tracing::Span,
    ) -> Self {
        Self {
            name,
            component,
            limit,
            span,
        }
    }

    pub(crate) async fn run<T>(
        self,
        trace: &mut Trace,
        fut: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let started = Instant::now();
        let out = timed(self.name, self.limit, fut)
            .instrument(self.span)
            .await
            .map_err(|e| e.in_component(self.component))?;
        trace.record(self.name, started.elapsed(), Vec::new());
        Ok(out)
    }
}

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
