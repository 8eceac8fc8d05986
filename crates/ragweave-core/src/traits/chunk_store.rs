//! Where chunks are kept: the write side ingestion uses, and the retrievers that search it.

use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::query::Query;
use crate::traits::embedder::{EmbedInput, Embedder};
use crate::traits::retriever::Retriever;
use crate::types::EmbeddedChunk;

/// The dense vectors a store holds: which embedder made them, and their length.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DenseSpec {
    /// The embedder's [`Embedder::model_id`]; queries embedded by another model are refused.
    pub model: String,
    /// Vector length.
    pub dimension: usize,
}

impl DenseSpec {
    /// The vectors `embedder` makes.
    pub fn of(embedder: &dyn Embedder) -> Self {
        Self {
            model: embedder.model_id().to_string(),
            dimension: embedder.dimension(),
        }
    }

    /// Checks that `embedder` makes these vectors, so its query vectors are comparable with
    /// what `store` holds.
    pub fn check(&self, embedder: &dyn Embedder, store: &str) -> Result<()> {
        if embedder.model_id() != self.model || embedder.dimension() != self.dimension {
            return Err(Error::config(
                "embedder",
                format!(
                    "`{}` ({}-d) is not the model store `{store}` was built with, `{}` ({}-d)",
                    embedder.model_id(),
                    embedder.dimension(),
                    self.model,
                    self.dimension
                ),
            ));
        }
        Ok(())
    }

    /// The vector to search these vectors with for `query`: a query transform's vector of
    /// this model ([`Query::vector_for`]), else the query text embedded by `embedder`.
    pub async fn query_vector(
        &self,
        query: &Query,
        embedder: Option<&Arc<dyn Embedder>>,
    ) -> Result<Vec<f32>> {
        if let Some(v) = query.vector_for(&self.model) {
            if v.len() != self.dimension {
                return Err(Error::DimensionMismatch {
                    field: "query.vector".into(),
                    expected: self.dimension,
                    actual: v.len(),
                });
            }
            return Ok(v.to_vec());
        }
        let embedder = embedder.ok_or_else(|| {
            Error::config(
                "embedder",
                "dense search needs an embedder for the query, or a query vector from a transform",
            )
        })?;
        embedder.embed_one(&query.text, EmbedInput::QUERY).await
    }
}

/// Which index a search of a store reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SearchMode {
    /// BM25 over the chunk text.
    Sparse,
    /// Cosine similarity over the dense vectors.
    Dense,
    /// Both, fused by reciprocal rank.
    Hybrid,
}

/// Where a hybrid search's two lists are fused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HybridFusion {
    /// In the store's engine, in one query where it can (Qdrant's prefetch + RRF).
    #[default]
    Engine,
    /// Two searches fused by ragweave's [`Rrf`](crate::Rrf) (k = 60), which labels each hit
    /// with the indexes that found it.
    Ragweave,
}

/// How a retriever searches a store: what [`ChunkStore::retriever`] takes, and the fields of
/// the `store` expert kind beside `store`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct StoreSearch {
    /// `sparse` (BM25), `dense` or `hybrid`; default: hybrid when the store has an embedder,
    /// else sparse.
    pub mode: Option<SearchMode>,
    /// Where hybrid results are fused: `engine` or `ragweave`.
    pub fusion: HybridFusion,
    /// Hits each side of a hybrid search contributes to fusion (at least the query's
    /// `top_k`).
    pub candidates: usize,
}

impl Default for StoreSearch {
    fn default() -> Self {
        Self {
            mode: None,
            fusion: HybridFusion::default(),
            candidates: 50,
        }
    }
}

impl StoreSearch {
    /// A search in `mode`, other settings at their defaults.
    pub fn mode(mode: SearchMode) -> Self {
        Self {
            mode: Some(mode),
            ..Self::default()
        }
    }

    /// The mode asked for, or the default for a store with (hybrid) or without (sparse) an
    /// embedder. Dense and hybrid modes over a store with neither dense vectors nor an
    /// embedder are an error naming the store; with vectors but no embedder, queries must
    /// bring their vector (a `kind = "embed"` query transform, or the retriever's own
    /// embedder where code sets one).
    pub fn resolve(&self, store: &dyn ChunkStore) -> Result<SearchMode> {
        let has_embedder = store.embedder().is_some();
        match self.mode {
            None if has_embedder => Ok(SearchMode::Hybrid),
            None => Ok(SearchMode::Sparse),
            Some(SearchMode::Sparse) => Ok(SearchMode::Sparse),
            Some(mode) if has_embedder || store.dense().is_some() => Ok(mode),
            Some(mode) => Err(Error::config(
                "mode",
                format!(
                    "{mode:?} search needs dense vectors, and store `{}` has neither them nor an \
                     embedder",
                    store.location()
                ),
            )),
        }
    }
}

/// One page of a store's chunks, as [`ChunkStore::export`] reads them.
#[derive(Debug, Clone, Default)]
pub struct ExportPage {
    /// The chunks with their dense vectors (where the store holds them).
    pub chunks: Vec<EmbeddedChunk>,
    /// Where the next page starts, `None` after the last page. Stable across processes, so a
    /// copy can record it and resume from it.
    pub next: Option<String>,
}

/// Where chunks are kept: ingestion writes them, retrievers search them.
///
/// Upserting a chunk id that exists replaces it; nothing is ever stored twice. A batch
/// with a bad vector (wrong dimension, NaN) is rejected whole, before anything is written.
/// `ragweave_testkit::store::check` verifies the write side.
#[async_trait]
pub trait ChunkStore: Send + Sync {
    /// Short name of the engine, for traces and errors: `qdrant-edge`, `qdrant`, `in-memory`.
    fn name(&self) -> &str;

    /// Where this store is (a directory, a collection at a URL), for messages; the default
    /// is its name.
    fn location(&self) -> String {
        self.name().to_string()
    }

    /// The dense vectors the store holds, if any (the default: none, a text store).
    fn dense(&self) -> Option<&DenseSpec> {
        None
    }

    /// The embedder that writes and queries the dense vectors, when the store was opened
    /// with one: ingestion embeds with it, and dense searches embed their queries with it.
    /// The default is none.
    fn embedder(&self) -> Option<Arc<dyn Embedder>> {
        None
    }

    /// A retriever over this store, searching as `search` says.
    fn retriever(self: Arc<Self>, search: &StoreSearch) -> Result<Arc<dyn Retriever>>;

    /// Inserts or replaces chunks by id.
    async fn upsert(&self, chunks: Vec<EmbeddedChunk>) -> Result<()>;

    /// Removes every chunk of `document_id`; returns how many were removed.
    async fn delete_document(&self, document_id: &str) -> Result<usize>;

    /// Removes the chunks with these ids (ids not stored are ignored); returns how many were
    /// removed. Ingestion writes a changed document's new chunks first and then removes the
    /// old ones, so a crash in between never leaves the document missing.
    async fn delete_chunks(&self, chunk_ids: &[String]) -> Result<usize>;

    /// Ids of the chunks stored for `document_id`, so ingestion can skip unchanged ones.
    async fn document_chunk_ids(&self, document_id: &str) -> Result<Vec<String>>;

    /// Ids of every document that has chunks stored, so ingestion can remove documents whose
    /// source is gone.
    async fn document_ids(&self) -> Result<Vec<String>>;

    /// Number of chunks stored.
    async fn count(&self) -> Result<usize>;

    /// Up to `limit` chunks with their vectors, starting where an earlier page's `next`
    /// said (`None` for the first page): how a store is copied into another.
    async fn export(&self, from: Option<&str>, limit: usize) -> Result<ExportPage>;

    /// Builds what makes searches fast after a large write (HNSW graphs, merged segments);
    /// the default has nothing to build.
    async fn optimize(&self) -> Result<()> {
        Ok(())
    }
}

/// The checks every store makes on a batch before writing any of it: ids are not empty;
/// with `dimension` (the store's dense vector length), vectors have that length, are finite
/// and not all zeros; without it (a BM25-only store), a vector is an error that `no_dense`
/// explains. Errors name the chunk and element at fault.
pub fn check_batch(
    chunks: &[EmbeddedChunk],
    dimension: Option<usize>,
    no_dense: &str,
) -> Result<()> {
    for (i, c) in chunks.iter().enumerate() {
        if c.chunk.id.is_empty() {
            return Err(Error::invalid(format!("chunks[{i}].chunk.id"), "is empty"));
        }
        let Some(v) = &c.vector else { continue };
        let Some(dimension) = dimension else {
            return Err(Error::invalid(format!("chunks[{i}].vector"), no_dense));
        };
        if v.len() != dimension {
            return Err(Error::DimensionMismatch {
                field: format!("chunks[{i}].vector"),
                expected: dimension,
                actual: v.len(),
            });
        }
        if let Some(j) = v.iter().position(|x| !x.is_finite()) {
            return Err(Error::invalid(
                format!("chunks[{i}].vector[{j}]"),
                format!("{} is not a finite number", v[j]),
            ));
        }
        if v.iter().all(|x| *x == 0.0) {
            return Err(Error::invalid(
                format!("chunks[{i}].vector"),
                "is all zeros, which has no cosine direction",
            ));
        }
    }
    Ok(())
}
