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
//! Bearer-token auth when a token is set (and without one, loopback only and a `Host`
//! check), a body limit (413), bodies read in full under a timeout before a request takes
//! its place under a concurrency limit that answers 503 at once rather than queueing,
//! header, idle and reply timeouts, errors in OpenAI's JSON shape with the status that fits,
//! and a graceful shutdown that lets in-flight requests (streams included) finish. A client
//! that disconnects mid-stream drops the generation, which stops it.
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

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
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
    ///
    /// Refuses (an `InvalidInput` error) to serve an address other than loopback without a
    /// token, unless [`ServeOptions::allow_public_without_token`] says so. Each connection
    /// must send its headers within [`ServeOptions::header_read_timeout`], which also closes
    /// connections idle that long between requests.
    pub async fn run(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let options = &self.state.options;
        let address = listener.local_addr()?;
        options.check_exposure(address)?;
        let grace = options.shutdown_grace;
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(options.header_read_timeout)
            .keep_alive(true);
        let router = self.router();
        let connections = GracefulShutdown::new();
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let stream = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _peer)) => stream,
                    Err(e) => {
                        // Out of file descriptors and the like: wait rather than spin.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let _ = stream.set_nodelay(true);
            let service = TowerToHyperService::new(router.clone());
            let connection =
                connections.watch(http.serve_connection(TokioIo::new(stream), service));
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!(error = %e, "connection closed");
                }
            });
        }
        drop(listener);
        tracing::info!("shutting down: finishing in-flight requests");
        tokio::select! {
            () = connections.shutdown() => Ok(()),
            () = tokio::time::sleep(grace) => {
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
