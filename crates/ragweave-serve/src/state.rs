//! What the handlers share.

use std::sync::Arc;

use tokio::sync::{Mutex, Semaphore};

use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::served::{ServeOptions, Served};

pub(crate) struct AppState {
    pub served: Served,
    pub options: ServeOptions,
    pub metrics: Arc<Metrics>,
    pub permits: Arc<Semaphore>,
    /// Bytes of request bodies that may be held at once; see
    /// [`ServeOptions::max_buffered_bytes`].
    pub buffered: Arc<Semaphore>,
    /// One ingest at a time: two uploads of one document must not both keep their chunks.
    pub ingesting: Mutex<()>,
}

impl AppState {
    pub(crate) fn new(served: Served, options: ServeOptions, metrics: Arc<Metrics>) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(options.max_concurrency.max(1))),
            buffered: Arc::new(Semaphore::new(
                options.max_buffered_bytes.clamp(1, Semaphore::MAX_PERMITS),
            )),
            served,
            options,
            metrics,
            ingesting: Mutex::new(()),
        }
    }

    /// The sampling a chat uses unless it sets its own: the config's.
    pub(crate) fn default_sampling(&self) -> ragweave_core::SamplingParams {
        self.served.built.pipeline.sampling().clone()
    }

    /// Every model name requests can use, for `GET /v1/models` and unknown-model errors.
    pub(crate) fn model_names(&self) -> Vec<String> {
        let models = self.served.models(&self.options.model);
        models.into_iter().map(|(name, _)| name).collect()
    }

    pub(crate) fn unknown_model(&self, model: &str) -> ApiError {
        let mut e = ApiError::unknown_model(model, &self.model_names());
        if model == self.options.model && !self.served.built.pipeline.has_generator() {
            e.message = format!(
                "model `{model}` needs a generator and this pipeline has none; \
                 POST /v1/retrieve returns its passages"
            );
        }
        e
    }
}
