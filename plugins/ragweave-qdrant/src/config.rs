//! `kind = "qdrant"`: a collection on a Qdrant server as a store in a pipeline config.

use std::sync::Arc;

use ragweave_core::config::{BuildContext, ComponentConfig};
use ragweave_core::{ChunkStore, Embedder, Result};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::options::QdrantOptions;
use crate::store::QdrantStore;

/// Config of a [`QdrantStore`]: a pipeline moves from the embedded store to a server by its
/// `[stores]` entry alone, since experts search either with `kind = "store"`.
///
/// ```toml
/// [stores.docs]
/// kind = "qdrant"
/// url = "https://qdrant.internal:6334"   # default: $QDRANT_URL, else http://localhost:6334
/// collection = "docs"
/// embedder = "minilm"                     # the collection holds its vectors
/// ```
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QdrantStoreConfig {
    /// The collection; created when missing where the command ingests, else it must exist.
    pub collection: String,
    /// The embedder (a name under `[embedders]`) whose dense vectors the collection holds.
    #[serde(default)]
    pub embedder: Option<String>,
    /// How to reach the server and lay out the collection.
    #[serde(flatten, deserialize_with = "ragweave_core::config::flat")]
    pub options: QdrantOptions,
}

impl ComponentConfig for QdrantStoreConfig {
    type Component = dyn ChunkStore;
    const KIND: &'static str = "qdrant";

    async fn build(self, ctx: &BuildContext) -> Result<Arc<dyn ChunkStore>> {
        let mut options = self.options;
        options.create_missing = ctx.creates_stores();
        if let Some(name) = &self.embedder {
            options.embedder = Some(ctx.component::<dyn Embedder>("embedder", name)?);
        }
        let store = QdrantStore::connect(&self.collection, options)
            .await
            .map_err(|e| ctx.locate(e))?;
        Ok(Arc::new(store))
    }
}
