//! What a server serves, and how.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ragweave_core::{Embedder, Generator, Pipeline, Reranker};
use ragweave_ingest::Ingestor;

/// The components behind the endpoints.
#[derive(Clone)]
pub struct Served {
    /// Answers `model = ServeOptions::model` chats (with citations) and `/v1/retrieve`.
    pub pipeline: Pipeline,
    /// Plain chat models, by name.
    pub generators: BTreeMap<String, Arc<dyn Generator>>,
    /// `/v1/embeddings` models, by name (each is also found by its model id).
    pub embedders: BTreeMap<String, Arc<dyn Embedder>>,
    /// `/v1/rerank` models, by name.
    pub rerankers: BTreeMap<String, Arc<dyn Reranker>>,
    /// Where `/v1/ingest` writes; `None` answers it 501.
    pub ingestor: Option<Arc<Ingestor>>,
}

impl Served {
    /// Serves `pipeline` alone; add the rest with the public fields.
    pub fn new(pipeline: Pipeline) -> Self {
        Self {
            pipeline,
            generators: BTreeMap::new(),
            embedders: BTreeMap::new(),
            rerankers: BTreeMap::new(),
            ingestor: None,
        }
    }

    /// Every model name requests can use, with its kind (`rag`, `generator`, `embedder`,
    /// `reranker`); the pipeline is `rag_model`, and only when it has a generator.
    pub fn models(&self, rag_model: &str) -> Vec<(String, &'static str)> {
        let mut models: Vec<(String, &'static str)> = Vec::new();
        if self.pipeline.has_generator() {
            models.push((rag_model.to_string(), "rag"));
        }
        models.extend(self.generators.keys().map(|n| (n.clone(), "generator")));
        models.extend(self.embedders.keys().map(|n| (n.clone(), "embedder")));
        models.extend(self.rerankers.keys().map(|n| (n.clone(), "reranker")));
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
