//! `kind = "qdrant_edge"`: the embedded store in a pipeline config's `[stores]`.

use std::path::PathBuf;
use std::sync::Arc;

use ragweave_core::config::{BuildContext, ComponentConfig};
use ragweave_core::{ChunkStore, Embedder, Error, Result};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::store::{EdgeStore, EdgeStoreOptions};

/// Config of an on-disk [`EdgeStore`]; experts search it with `kind = "store"`.
///
/// ```toml
/// [stores.docs]
/// kind = "qdrant_edge"
/// path = "store"          # relative to the config file
/// embedder = "minilm"     # a name under [embedders]: the store holds its vectors
///
/// [experts.docs]
/// kind = "store"
/// store = "docs"
/// ```
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EdgeStoreConfig {
    /// The store directory, relative to the config file.
    pub path: PathBuf,
    /// The embedder (a name under `[embedders]`) whose dense vectors the store holds;
    /// unset holds text for BM25 alone (or opens an existing store as it is).
    #[serde(default)]
    pub embedder: Option<String>,
    /// How the store is opened.
    #[serde(flatten, deserialize_with = "ragweave_core::config::flat")]
    pub options: EdgeStoreOptions,
}

impl ComponentConfig for EdgeStoreConfig {
    type Component = dyn ChunkStore;
    const KIND: &'static str = "qdrant_edge";

    async fn build(self, ctx: &BuildContext) -> Result<Arc<dyn ChunkStore>> {
        let path = ctx.resolve(&self.path);
        // Searching a store nobody ingested into is a mistake worth naming, not an empty list.
        if !ctx.creates_stores() && !EdgeStore::exists(&path) {
            return Err(Error::NotFound {
                what: "store",
                name: format!(
                    "{} (at {}.path; run `ragweave ingest <files>` with the same --store or \
                     --config first)",
                    path.display(),
                    ctx.path()
                ),
            });
        }
        let mut options = self.options;
        if let Some(name) = &self.embedder {
            options.embedder = Some(ctx.component::<dyn Embedder>("embedder", name)?);
        }
        let store = EdgeStore::open(&path, options).map_err(|e| ctx.locate(e))?;
        Ok(Arc::new(store))
    }
}
