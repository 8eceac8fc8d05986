//! `kind = "qdrant_edge"`: the store as a retriever in a pipeline config.

use std::path::PathBuf;
use std::sync::Arc;

use ragweave_core::config::{BuildContext, ComponentConfig};
use ragweave_core::{Error, Result, Retriever};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::store::{EdgeStore, EdgeStoreOptions};
use ragweave_qdrant_layout::{DenseSpec, HybridFusion, SearchMode};

/// Config of a retriever over an on-disk [`EdgeStore`].
///
/// ```toml
/// [experts.docs]
/// kind = "qdrant_edge"
/// path = "store"          # relative to the config file
/// embedder = "minilm"     # a name under [embedders]; makes the search hybrid
/// ```
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EdgeRetrieverConfig {
    /// The store directory, relative to the config file.
    pub path: PathBuf,
    /// The embedder (a name under `[embedders]`) that made the store's dense vectors.
    #[serde(default)]
    pub embedder: Option<String>,
    /// `sparse` (BM25), `dense` or `hybrid`; default: hybrid with an embedder, else sparse.
    #[serde(default)]
    pub mode: Option<SearchMode>,
    /// Where hybrid results are fused: `engine` (Qdrant's prefetch + RRF) or `ragweave`.
    #[serde(default)]
    pub fusion: HybridFusion,
    /// Hits each side of a hybrid search contributes to fusion.
    #[serde(default = "default_candidates")]
    pub candidates: usize,
}

fn default_candidates() -> usize {
    50
}

impl EdgeRetrieverConfig {
    /// The search mode this config asks for, with its default applied.
    pub fn mode(&self) -> SearchMode {
        self.mode.unwrap_or(match self.embedder {
            Some(_) => SearchMode::Hybrid,
            None => SearchMode::Sparse,
        })
    }
}

impl ComponentConfig for EdgeRetrieverConfig {
    type Component = dyn Retriever;
    const KIND: &'static str = "qdrant_edge";

    async fn build(self, ctx: &BuildContext) -> Result<Arc<dyn Retriever>> {
        let mode = self.mode();
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
        let dense = embedder.as_ref().map(|e| DenseSpec {
            model: e.model_id().to_string(),
            dimension: e.dimension(),
        });
        let path = ctx.resolve(&self.path);
        // Searching a store nobody ingested into is a mistake worth naming, not an empty list.
        if !EdgeStore::exists(&path) {
            return Err(Error::NotFound {
                what: "store",
                name: format!(
                    "{} (at {}.path; run `ragweave ingest <files> --store {}` first)",
                    path.display(),
                    ctx.path(),
                    path.display()
                ),
            });
        }
        let store = EdgeStore::open(
            &path,
            EdgeStoreOptions {
                dense,
                ..Default::default()
            },
        )?;
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
