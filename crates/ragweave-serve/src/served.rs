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
                            "ingest_store",
                            format!("no store named `{name}`; the config has {stores:?}"),
                        )
                    })?,
            ),
            (None, []) => None,
            (None, [only]) => built.components.get::<dyn ChunkStore>(only).cloned(),
            (None, several) => {
                return Err(Error::config(
                    "ingest_store",
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
#[derive(Debug, Clone, PartialEq)]
pub struct ServeOptions {
    /// The model name of the pipeline in chat requests.
    pub model: String,
    /// When set, every request but `GET /healthz` and `GET /openapi.json` must carry
    /// `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// Largest request body, in bytes (413 past it).
    pub max_body_bytes: usize,
    /// Requests answered at once; more get 503 with `Retry-After` at once rather than
    /// queueing. A stream holds its place until its last token.
    pub max_concurrency: usize,
    /// After a shutdown signal, how long in-flight requests get to finish.
    pub shutdown_grace: Duration,
    /// Largest `top_k` of a retrieve request.
    pub max_top_k: usize,
}

impl Default for ServeOptions {
    /// Model `ragweave`, no token, 8 MiB bodies, 64 requests at once, 30 s to finish,
    /// `top_k` up to 1,000.
    fn default() -> Self {
        Self {
            model: "ragweave".into(),
            token: None,
            max_body_bytes: 8 << 20,
            max_concurrency: 64,
            shutdown_grace: Duration::from_secs(30),
            max_top_k: 1000,
        }
    }
}
