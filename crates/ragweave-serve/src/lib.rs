//! `ragweave serve`: a pipeline over HTTP with axum.
//!
//! - `POST /v1/chat/completions`: OpenAI-compatible, whole or streamed (server-sent
//!   events). The pipeline's model ([`ServeOptions::model`]) answers from retrieved passages
//!   and returns them as `citations`; a generator's name chats without retrieval.
//! - `POST /v1/embeddings`, `POST /v1/rerank`: the config's embedders and rerankers, in the
//!   shapes OpenAI, TEI, vLLM and llama-server use.
//! - `POST /v1/retrieve`, `POST /v1/ingest`, `GET /v1/models`, `GET /healthz`,
//!   `GET /metrics` (Prometheus), `GET /openapi.json`.
//!
//! Bearer-token auth when a token is set, a body limit (413), a concurrency limit that
//! answers 503 at once rather than queueing, errors in OpenAI's JSON shape with the status
//! that fits, and a graceful shutdown that lets in-flight requests (streams included)
//! finish. A client that disconnects mid-stream drops the generation, which stops it.
//!
//! ```no_run
//! use ragweave_core::config::BuiltPipeline;
//! use ragweave_core::Pipeline;
//! use ragweave_serve::{ServeOptions, Served, Server};
//!
//! # async fn run(pipeline: Pipeline) -> Result<(), Box<dyn std::error::Error>> {
//! let served = Served::new(BuiltPipeline::new(pipeline), None)?;
//! let server = Server::new(served, ServeOptions::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! server.run(listener, ragweave_serve::shutdown_signal()).await?;
//! # Ok(()) }
//! ```

mod api;
mod edges;
mod error;
mod metrics;
pub mod openapi;
mod routes;
mod served;
mod state;

use std::future::Future;
use std::sync::Arc;

pub use api::*;
pub use error::{ApiError, ErrorBody, ErrorDetail};
pub use metrics::{Metrics, peak_rss_bytes};
pub use served::{ServeOptions, Served};

use state::AppState;

/// A server for one pipeline and its components.
pub struct Server {
    state: Arc<AppState>,
}

impl Server {
    /// A server for `served`, behaving as `options` say.
    pub fn new(served: Served, options: ServeOptions) -> Self {
        Self {
            state: Arc::new(AppState::new(served, options, Arc::default())),
        }
    }

    /// The routes as an axum [`Router`](axum::Router), to nest in an application of your own
    /// or to drive in tests.
    pub fn router(&self) -> axum::Router {
        routes::router(self.state.clone())
    }

    /// The server's counters (what `GET /metrics` renders).
    pub fn metrics(&self) -> Arc<Metrics> {
        self.state.metrics.clone()
    }

    /// Serves on `listener` until `shutdown` completes; then stops accepting, lets in-flight
    /// requests finish for up to [`ServeOptions::shutdown_grace`], and returns.
    pub async fn run(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let grace = self.state.options.shutdown_grace;
        let (tx, mut rx) = tokio::sync::watch::channel(false);
        let signalled = async move {
            shutdown.await;
            tracing::info!("shutting down: finishing in-flight requests");
            let _ = tx.send(true);
        };
        let serving = axum::serve(listener, self.router()).with_graceful_shutdown(signalled);
        let deadline = async move {
            let _ = rx.wait_for(|s| *s).await;
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            r = serving => r,
            () = deadline => {
                tracing::warn!(?grace, "requests still in flight after the grace period; stopping");
                Ok(())
            }
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
