//! `kind = "qdrant"`: a collection on a Qdrant server as a retriever in a pipeline config.

use std::sync::Arc;
use std::time::Duration;

use ragweave_core::config::{BuildContext, ComponentConfig};
use ragweave_core::{Error, Result, Retriever};
use ragweave_qdrant_layout::{DenseSpec, HybridFusion, SearchMode};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::options::{IndexedField, QdrantOptions};
use crate::store::QdrantStore;

/// Config of a retriever over a Qdrant collection. The fields after `url`, `collection` and
/// the API key are those of `kind = "qdrant_edge"`, so a pipeline moves from the embedded
/// store to a server by its `kind` and location lines.
///
/// ```toml
/// [experts.docs]
/// kind = "qdrant"
/// url = "https://qdrant.internal:6334"   # default: $QDRANT_URL, else http://localhost:6334
/// collection = "docs"
/// embedder = "minilm"                     # makes the search hybrid
/// ```
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QdrantRetrieverConfig {
    /// The server's gRPC URL; `https://` uses TLS. Default: `$QDRANT_URL`, else
    /// `http://localhost:6334`.
    #[serde(default)]
    pub url: Option<String>,
    /// The collection (it must exist: ingest or `ragweave migrate` into it first).
    pub collection: String,
    /// The environment variable holding the API key (read when set).
    #[serde(default = "default_api_key_env")]
    pub api_key_env: String,
    /// Seconds each request may take.
    #[serde(default = "default_timeout")]
    pub timeout_secs: f64,
    /// The embedder (a name under `[embedders]`) that made the collection's dense vectors.
    #[serde(default)]
    pub embedder: Option<String>,
    /// `sparse` (BM25), `dense` or `hybrid`; default: hybrid with an embedder, else sparse.
    #[serde(default)]
    pub mode: Option<SearchMode>,
    /// Where hybrid results are fused: `engine` (one server query: prefetch + RRF) or
    /// `ragweave`.
    #[serde(default)]
    pub fusion: HybridFusion,
    /// Hits each side of a hybrid search contributes to fusion.
    #[serde(default = "default_candidates")]
    pub candidates: usize,
    /// Metadata fields to index for filtering (created when missing).
    #[serde(default)]
    pub indexed_fields: Vec<IndexedField>,
}

fn default_api_key_env() -> String {
    "QDRANT_API_KEY".into()
}

fn default_timeout() -> f64 {
    30.0
}

fn default_candidates() -> usize {
    50
}

/// The URL a config without `url` connects to: `$QDRANT_URL`, else the local default.
pub(crate) fn default_url() -> String {
    std::env::var("QDRANT_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "http://localhost:6334".into())
}

impl ComponentConfig for QdrantRetrieverConfig {
    type Component = dyn Retriever;
    const KIND: &'static str = "qdrant";

    async fn build(self, ctx: &BuildContext) -> Result<Arc<dyn Retriever>> {
        let mode = self.mode.unwrap_or(match self.embedder {
            Some(_) => SearchMode::Hybrid,
            None => SearchMode::Sparse,
        });
        let embedder = match &self.embedder {
            Some(name) => Some(ctx.embedder("embedder", name)?),
            None if mode != SearchMode::Sparse => {
                return Err(Error::config(
                    format!("{}.embedder", ctx.path()),
                    format!("{mode:?} search needs an embedder"),
                ));
            }
            None => None,
        };
        if !(self.timeout_secs.is_finite() && self.timeout_secs > 0.0) {
            return Err(Error::config(
                format!("{}.timeout_secs", ctx.path()),
                format!(
                    "must be a positive number of seconds, not {}",
                    self.timeout_secs
                ),
            ));
        }
        let mut options = QdrantOptions::new(self.url.unwrap_or_else(default_url), self.collection);
        options.api_key = std::env::var(&self.api_key_env)
            .ok()
            .filter(|k| !k.is_empty());
        options.timeout = Duration::from_secs_f64(self.timeout_secs);
        options.create_missing = false;
        options.indexed_fields = self.indexed_fields;
        options.dense = embedder.as_ref().map(|e| DenseSpec {
            model: e.model_id().to_string(),
            dimension: e.dimension(),
        });
        let store = QdrantStore::connect(options).await?;
        let mut retriever = store
            .retriever(mode)
            .fusion(self.fusion)
            .candidates(self.candidates);
        if let Some(e) = embedder {
            retriever = retriever.with_embedder(e)?;
        }
        Ok(Arc::new(retriever))
    }
}
