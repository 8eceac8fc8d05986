//! Running one stage: inside its tracing span, its errors attributed to its component, its
//! duration in the trace. Time limits are not here: components carry them ([`super::Timeout`]).

use std::future::Future;
use std::time::{Duration, Instant};

use tracing::Instrument;

use crate::answer::Trace;
use crate::error::Result;

/// One pipeline stage.
pub(crate) struct Stage<'a> {
    name: &'a str,
    component: &'a str,
    span: tracing::Span,
}

impl<'a> Stage<'a> {
    pub(crate) fn new(name: &'a str, component: &'a str, span: tracing::Span) -> Self {
        Self {
            name,
            component,
            span,
        }
    }

    pub(crate) async fn run<T>(
        self,
        trace: &mut Trace,
        fut: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let started = Instant::now();
        let out = fut
            .instrument(self.span)
            .await
            .map_err(|e| e.in_component(self.component))?;
        trace.record(self.name, started.elapsed(), Vec::new());
        Ok(out)
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
