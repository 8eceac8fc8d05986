//! What a server serves, and how.

use std::sync::Arc;
use std::time::Duration;

use ragweave_core::config::BuiltPipeline;
use ragweave_core::{ChunkStore, Embedder, Error, Generator, Reranker, Result};
use ragweave_ingest::Ingestor;

/// The components behind the endpoints: a config's [`BuiltPipeline`] (the pipeline answers
/// `model = ServeOptions::model` chats and `/v1/retrieve`; its named generators, embedders
/// and reranker serve chat, `/v1/embeddings` and `/v1/rerank`), and the ingestion into one of
/// its stores behind `/v1/ingest`.
#[derive(Clone)]
pub struct Served {
    pub(crate) built: BuiltPipeline,
    pub(crate) ingestor: Option<Arc<Ingestor>>,
}

impl Served {
    /// Serves `built`; `/v1/ingest` writes into its store `ingest_store`, or into its only
    /// store when that is `None` (and answers 501 when it has none). Several stores and no
    /// name is an error that lists them.
    pub fn new(built: BuiltPipeline, ingest_store: Option<&str>) -> Result<Self> {
        let stores = built.components.names::<dyn ChunkStore>();
        let chosen = match (ingest_store, stores.as_slice()) {
            (Some(name), _) => Some(
                built
                    .components
                    .get::<dyn ChunkStore>(name)
                    .cloned()
                    .ok_or_else(|| {
                        Error::config(
                            "stores",
                            format!("no store named `{name}`; the config has {stores:?}"),
                        )
                    })?,
            ),
            (None, []) => None,
            (None, [only]) => built.components.get::<dyn ChunkStore>(only).cloned(),
            (None, several) => {
                return Err(Error::config(
                    "stores",
                    format!(
                        "the config has several stores ({several:?}); name the one to ingest into"
                    ),
                ));
            }
        };
        Ok(Self {
            built,
            ingestor: chosen.map(|store| Arc::new(Ingestor::new(store))),
        })
    }

    /// Serves `built` with `/v1/ingest` writing through `ingestor` (its own store, chunking
    /// and embedder).
    pub fn with_ingestor(built: BuiltPipeline, ingestor: Option<Arc<Ingestor>>) -> Self {
        Self { built, ingestor }
    }

    /// Where `/v1/ingest` writes, if anywhere.
    pub fn ingestor(&self) -> Option<&Arc<Ingestor>> {
        self.ingestor.as_ref()
    }

    pub(crate) fn generator(&self, name: &str) -> Option<&Arc<dyn Generator>> {
        self.built.components.get::<dyn Generator>(name)
    }

    pub(crate) fn reranker(&self, name: &str) -> Option<&Arc<dyn Reranker>> {
        self.built.components.get::<dyn Reranker>(name)
    }

    /// The embedder named `model`, or else the one whose model id it is: a client configured
    /// with what the server reports finds it.
    pub(crate) fn embedder(&self, model: &str) -> Option<&Arc<dyn Embedder>> {
        let c = &self.built.components;
        c.get::<dyn Embedder>(model).or_else(|| {
            c.all::<dyn Embedder>()
                .find(|(_, e)| e.model_id() == model)
                .map(|(_, e)| e)
        })
    }

    /// Every model name requests can use, with its kind (`rag`, `generator`, `embedder`,
    /// `reranker`); the pipeline is `rag_model`, and only when it has a generator.
    pub fn models(&self, rag_model: &str) -> Vec<(String, &'static str)> {
        let c = &self.built.components;
        let mut models: Vec<(String, &'static str)> = Vec::new();
        if self.built.pipeline.has_generator() {
            models.push((rag_model.to_string(), "rag"));
        }
        let named = |names: Vec<String>, kind| names.into_iter().map(move |n| (n, kind));
        models.extend(named(c.names::<dyn Generator>(), "generator"));
        models.extend(named(c.names::<dyn Embedder>(), "embedder"));
        models.extend(named(c.names::<dyn Reranker>(), "reranker"));
        models
    }
}

/// How a server behaves at its edges.
#[derive(Clone, PartialEq)]
pub struct ServeOptions {
    /// The model name of the pipeline in chat requests.
    pub model: String,
    /// When set, every request but `GET /healthz` and `GET /openapi.json` must carry
    /// `Authorization: Bearer <token>`. `Debug` prints it redacted.
    pub token: Option<String>,
    /// Largest request body, in bytes (413 past it).
    pub max_body_bytes: usize,
    /// Bytes of request bodies held at once, over every connection: bodies are read before
    /// a request takes its place among [`ServeOptions::max_concurrency`] (so clients that
    /// send slowly hold none), and this bounds what they hold instead (503 past it).
    pub max_buffered_bytes: usize,
    /// Requests answered at once; more get 503 with `Retry-After` at once rather than
    /// queueing. A stream holds its place until its last token.
    pub max_concurrency: usize,
    /// How long a connection may take to send a request's headers, and how long it may
    /// stay open idle between requests; past it the connection is closed.
    pub header_read_timeout: Duration,
    /// How long a request's body may take to arrive (408 past it).
    pub body_read_timeout: Duration,
    /// How long a request may take from its headers to its reply's first byte (504 past
    /// it); a stream's tokens after that are bounded by the generator's stage timeout.
    pub request_timeout: Duration,
    /// After a shutdown signal, how long in-flight requests get to finish.
    pub shutdown_grace: Duration,
    /// Largest `top_k` of a retrieve request.
    pub max_top_k: usize,
    /// Serve an address other than loopback without a token. Off, [`crate::Server::run`]
    /// refuses to: anyone who can reach the port could read and write the store.
    pub allow_public_without_token: bool,
    /// Without a token, the `Host` names requests may carry (any port): besides these,
    /// `localhost` and loopback addresses. A page on another site that resolves its own name
    /// to 127.0.0.1 (DNS rebinding) sends its own name, and is refused (421).
    pub allowed_hosts: Vec<String>,
}

impl ServeOptions {
    /// Whether serving `address` is allowed: an address other than loopback needs a token,
    /// unless [`ServeOptions::allow_public_without_token`] says otherwise.
    pub fn check_exposure(&self, address: std::net::SocketAddr) -> std::io::Result<()> {
        if self.token.is_none() && !address.ip().is_loopback() && !self.allow_public_without_token {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "refusing to serve {address} without a token: anyone who can reach it could \
                     read and write the store. Set a token ($RAGWEAVE_API_TOKEN), bind \
                     127.0.0.1, or pass --allow-public-without-token"
                ),
            ));
        }
        Ok(())
    }
}

impl std::fmt::Debug for ServeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeOptions")
            .field("model", &self.model)
            .field("token", &Redacted(&self.token))
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_buffered_bytes", &self.max_buffered_bytes)
            .field("max_concurrency", &self.max_concurrency)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("body_read_timeout", &self.body_read_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("max_top_k", &self.max_top_k)
            .field(
                "allow_public_without_token",
                &self.allow_public_without_token,
            )
            .field("allowed_hosts", &self.allowed_hosts)
            .finish()
    }
}

impl std::fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(_) => f.write_str("Some(\"<redacted>\")"),
            None => f.write_str("None"),
        }
    }
}

/// A secret as `Debug` shows it.
struct Redacted<'a>(&'a Option<String>);

impl Default for ServeOptions {
    /// Model `ragweave`, no token, 8 MiB bodies and 256 MiB of them at once, 64 requests at
    /// once, 10 s for headers (and idle connections), 30 s for a body, 300 s to the first
    /// byte of a reply, 30 s to finish after a signal, `top_k` up to 1,000, loopback only
    /// without a token.
    fn default() -> Self {
        Self {
            model: "ragweave".into(),
            token: None,
            max_body_bytes: 8 << 20,
            max_buffered_bytes: 256 << 20,
            max_concurrency: 64,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(300),
            shutdown_grace: Duration::from_secs(30),
            max_top_k: 1000,
            allow_public_without_token: false,
            allowed_hosts: Vec::new(),
        }
    }
}
