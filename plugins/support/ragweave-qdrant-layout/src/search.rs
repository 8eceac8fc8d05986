//! How a retriever over a ragweave Qdrant store searches, the same for both plugins.

use std::sync::Arc;

use ragweave_core::{
    ChunkStore, Embedder, Error, HybridFusion, Query, Result, SearchMode, StoreSearch,
};

/// A search's settings: mode, fusion, depth, the query embedder and the hits' label.
#[derive(Clone)]
pub struct Searching {
    /// Which index the search reads.
    pub mode: SearchMode,
    /// Where hybrid results are fused.
    pub fusion: HybridFusion,
    /// Hits each side of a hybrid search contributes to fusion (at least `top_k`).
    pub candidates: usize,
    /// Embeds query texts for dense search.
    pub embedder: Option<Arc<dyn Embedder>>,
    /// The label put on hits.
    pub name: String,
}

impl std::fmt::Debug for Searching {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Searching")
            .field("mode", &self.mode)
            .field("fusion", &self.fusion)
            .field("candidates", &self.candidates)
            .field("embedder", &self.embedder.as_ref().map(|e| e.model_id()))
            .finish()
    }
}

impl Searching {
    /// A search of `store` in `mode` with [`StoreSearch`]'s other defaults, embedding
    /// queries with the store's embedder and labelling hits `name`.
    pub fn new(store: &dyn ChunkStore, mode: SearchMode, name: &str) -> Self {
        let defaults = StoreSearch::default();
        Self {
            mode,
            fusion: defaults.fusion,
            candidates: defaults.candidates,
            embedder: store.embedder(),
            name: name.to_string(),
        }
    }

    /// The search `search` asks of `store`: its mode defaulting by the store's embedder,
    /// and dense modes refused where the store holds no dense vectors.
    pub fn of(store: &dyn ChunkStore, search: &StoreSearch, name: &str) -> Result<Self> {
        let mode = search.resolve(store)?;
        if mode != SearchMode::Sparse && store.dense().is_none() {
            return Err(no_dense(store));
        }
        Ok(Self {
            fusion: search.fusion,
            candidates: search.candidates,
            ..Self::new(store, mode, name)
        })
    }

    /// Embeds queries with `embedder`, which must be the model that made `store`'s vectors.
    pub fn embed_with(
        &mut self,
        store: &dyn ChunkStore,
        embedder: Arc<dyn Embedder>,
    ) -> Result<()> {
        let spec = store.dense().ok_or_else(|| {
            Error::config(
                "embedder",
                format!(
                    "store `{}` holds no dense vectors; ingest with an embedder first",
                    store.location()
                ),
            )
        })?;
        spec.check(embedder.as_ref(), &store.location())?;
        self.embedder = Some(embedder);
        Ok(())
    }

    /// The dense vector to search `store` with for `query`.
    pub async fn query_vector(&self, store: &dyn ChunkStore, query: &Query) -> Result<Vec<f32>> {
        let spec = store.dense().ok_or_else(|| no_dense(store))?;
        spec.query_vector(query, self.embedder.as_ref()).await
    }
}

fn no_dense(store: &dyn ChunkStore) -> Error {
    Error::config(
        "mode",
        format!(
            "store `{}` holds no dense vectors, so only sparse search works",
            store.location()
        ),
    )
}
