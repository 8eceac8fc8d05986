//! An in-memory chunk store with exact cosine search.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;

use super::bm25::{Bm25Index, Bm25Params, export_page};
use crate::algorithms::kmeans::{dot, normalize};
use crate::algorithms::rrf::{RankedList, Rrf};
use crate::error::{Error, Result};
use crate::query::{Filter, Query};
use crate::traits::chunk_store::{
    ChunkStore, DenseSpec, ExportPage, SearchMode, StoreSearch, check_batch,
};
use crate::traits::embedder::{EmbedInput, Embedder};
use crate::traits::retriever::{Retriever, best_per_document};
use crate::types::{Chunk, EmbeddedChunk, Hit, sort_hits};

/// Chunks in memory, searched exactly: BM25 over their text and, with dense vectors, cosine
/// over those.
///
/// Exact, simple and fast enough for tens of thousands of chunks; the Qdrant Edge plugin
/// is the on-disk store for more. [`InMemoryStore::new`] holds vectors of a length for a
/// [`DenseRetriever`]; [`InMemoryStore::for_embedder`] holds that embedder's vectors and
/// searches in every [`SearchMode`] itself; [`InMemoryStore::text_only`] holds text alone.
pub struct InMemoryStore {
    dimension: Option<usize>,
    dense: Option<DenseSpec>,
    embedder: Option<Arc<dyn Embedder>>,
    inner: RwLock<Inner>,
    bm25: Bm25Index,
}

impl std::fmt::Debug for InMemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemoryStore")
            .field("dimension", &self.dimension)
            .field("dense", &self.dense)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct Inner {
    chunks: Vec<Chunk>,
    vectors: Vec<Vec<f32>>,
    by_id: HashMap<String, usize>,
}

impl InMemoryStore {
    /// An empty store for `dimension`-long vectors, one with every chunk.
    pub fn new(dimension: usize) -> Self {
        Self::make(Some(dimension), None)
    }

    /// An empty store for `embedder`'s vectors, which embeds dense queries with it.
    pub fn for_embedder(embedder: Arc<dyn Embedder>) -> Self {
        Self::make(Some(embedder.dimension()), Some(embedder))
    }

    /// An empty store of text alone, searched by BM25.
    pub fn text_only() -> Self {
        Self::make(None, None)
    }

    fn make(dimension: Option<usize>, embedder: Option<Arc<dyn Embedder>>) -> Self {
        Self {
            dimension,
            dense: embedder.as_deref().map(DenseSpec::of),
            embedder,
            inner: RwLock::new(Inner::default()),
            bm25: Bm25Index::new(Bm25Params::default()),
        }
    }

    /// Vector length the store accepts; 0 for a text-only store.
    pub fn dimension(&self) -> usize {
        self.dimension.unwrap_or(0)
    }

    /// The `top_k` chunks closest to `vector` (cosine) that match `filter`.
    pub fn search(
        &self,
        vector: &[f32],
        top_k: usize,
        filter: Option<&Filter>,
        label: &str,
    ) -> Result<Vec<Hit>> {
        self.search_in(vector, top_k, filter, None, label)
    }

    /// As [`InMemoryStore::search`], only of `documents` when given.
    fn search_in(
        &self,
        vector: &[f32],
        top_k: usize,
        filter: Option<&Filter>,
        documents: Option<&HashSet<&str>>,
        label: &str,
    ) -> Result<Vec<Hit>> {
        if vector.len() != self.dimension() {
            return Err(Error::DimensionMismatch {
                field: "query vector".into(),
                expected: self.dimension(),
                actual: vector.len(),
            });
        }
        let mut q = vector.to_vec();
        if !normalize(&mut q) {
            return Err(Error::invalid("query vector", "zero or not finite"));
        }
        let inner = self.inner.read().expect("store lock");
        let mut scored: Vec<(usize, f32)> = inner
            .vectors
            .iter()
            .enumerate()
            .filter(|(i, _)| {
                let chunk = &inner.chunks[*i];
                filter.is_none_or(|f| f.matches(&chunk.metadata))
                    && documents.is_none_or(|ds| ds.contains(chunk.document_id.as_str()))
            })
            .map(|(i, v)| (i, dot(v, &q)))
            .collect();
        let k = top_k.min(scored.len());
        if k < scored.len() {
            scored.select_nth_unstable_by(k, |a, b| b.1.total_cmp(&a.1));
            scored.truncate(k);
        }
        let mut hits: Vec<Hit> = scored
            .into_iter()
            .map(|(i, s)| Hit::new(inner.chunks[i].clone(), s, label))
            .collect();
        sort_hits(&mut hits);
        Ok(hits)
    }

    fn check(&self, batch: &[EmbeddedChunk]) -> Result<Vec<Vec<f32>>> {
        let Some(dimension) = self.dimension else {
            check_batch(batch, None, "this store holds text only")?;
            return Ok(vec![Vec::new(); batch.len()]);
        };
        batch
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let field = format!("chunks[{i}].vector");
                let Some(v) = &c.vector else {
                    return Err(Error::invalid(
                        field,
                        "this store needs a vector for every chunk",
                    ));
                };
                if v.len() != dimension {
                    return Err(Error::DimensionMismatch {
                        field,
                        expected: dimension,
                        actual: v.len(),
                    });
                }
                let mut v = v.clone();
                if !normalize(&mut v) {
                    return Err(Error::invalid(
                        field,
                        "vector is zero or has a NaN or infinity",
                    ));
                }
                if c.chunk.id.is_empty() {
                    return Err(Error::invalid(
                        format!("chunks[{i}].id"),
                        "chunk id is empty",
                    ));
                }
                Ok(v)
            })
            .collect()
    }

    fn remove_where(&self, remove: impl Fn(&Chunk) -> bool) -> usize {
        let mut inner = self.inner.write().expect("store lock");
        let before = inner.chunks.len();
        let Inner {
            chunks,
            vectors,
            by_id,
        } = &mut *inner;
        let kept: (Vec<Chunk>, Vec<Vec<f32>>) = std::mem::take(chunks)
            .into_iter()
            .zip(std::mem::take(vectors))
            .filter(|(c, _)| !remove(c))
            .unzip();
        (*chunks, *vectors) = kept;
        *by_id = chunks
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.clone(), i))
            .collect();
        before - chunks.len()
    }
}

#[async_trait]
impl ChunkStore for InMemoryStore {
    fn name(&self) -> &str {
        "in-memory"
    }

    fn location(&self) -> String {
        "memory".into()
    }

    fn dense(&self) -> Option<&DenseSpec> {
        self.dense.as_ref()
    }

    fn embedder(&self) -> Option<Arc<dyn Embedder>> {
        self.embedder.clone()
    }

    fn retriever(self: Arc<Self>, search: &StoreSearch) -> Result<Arc<dyn Retriever>> {
        let mode = search.resolve(self.as_ref())?;
        if mode != SearchMode::Sparse && self.embedder.is_none() {
            return Err(Error::config(
                "mode",
                format!("{mode:?} search of an in-memory store needs the store's embedder"),
            ));
        }
        Ok(Arc::new(MemorySearch {
            store: self,
            mode,
            candidates: search.candidates,
        }))
    }

    async fn export(&self, from: Option<&str>, limit: usize) -> Result<ExportPage> {
        let inner = self.inner.read().expect("store lock");
        let chunks: Vec<&Chunk> = inner.chunks.iter().collect();
        let dense = self.dimension.is_some();
        Ok(export_page(chunks, from, limit, |c| {
            let i = *inner.by_id.get(&c.id)?;
            dense.then(|| inner.vectors[i].clone())
        }))
    }

    async fn upsert(&self, chunks: Vec<EmbeddedChunk>) -> Result<()> {
        // Validate the whole batch first, so a bad chunk leaves the store untouched.
        let vectors = self.check(&chunks)?;
        let texts = chunks
            .iter()
            .map(|c| EmbeddedChunk {
                chunk: c.chunk.clone(),
                vector: None,
            })
            .collect();
        self.bm25.upsert(texts).await?;
        let mut inner = self.inner.write().expect("store lock");
        for (c, v) in chunks.into_iter().zip(vectors) {
            match inner.by_id.get(&c.chunk.id).copied() {
                Some(i) => {
                    inner.chunks[i] = c.chunk;
                    inner.vectors[i] = v;
                }
                None => {
                    let i = inner.chunks.len();
                    inner.by_id.insert(c.chunk.id.clone(), i);
                    inner.chunks.push(c.chunk);
                    inner.vectors.push(v);
                }
            }
        }
        Ok(())
    }

    async fn delete_document(&self, document_id: &str) -> Result<usize> {
        self.bm25.delete_document(document_id).await?;
        Ok(self.remove_where(|c| c.document_id == document_id))
    }

    async fn delete_chunks(&self, chunk_ids: &[String]) -> Result<usize> {
        self.bm25.delete_chunks(chunk_ids).await?;
        let ids: std::collections::HashSet<&str> = chunk_ids.iter().map(String::as_str).collect();
        Ok(self.remove_where(|c| ids.contains(c.id.as_str())))
    }

    async fn document_chunk_ids(&self, document_id: &str) -> Result<Vec<String>> {
        let inner = self.inner.read().expect("store lock");
        Ok(inner
            .chunks
            .iter()
            .filter(|c| c.document_id == document_id)
            .map(|c| c.id.clone())
            .collect())
    }

    async fn document_ids(&self) -> Result<Vec<String>> {
        let inner = self.inner.read().expect("store lock");
        let ids: std::collections::BTreeSet<&str> = inner
            .chunks
            .iter()
            .map(|c| c.document_id.as_str())
            .collect();
        Ok(ids.into_iter().map(str::to_string).collect())
    }

    async fn count(&self) -> Result<usize> {
        Ok(self.inner.read().expect("store lock").chunks.len())
    }
}

/// A search of an [`InMemoryStore`] in one [`SearchMode`].
struct MemorySearch {
    store: Arc<InMemoryStore>,
    mode: SearchMode,
    candidates: usize,
}

impl MemorySearch {
    async fn dense(&self, query: &Query) -> Result<Vec<Hit>> {
        self.dense_in(query, query.top_k, None).await
    }

    async fn dense_in(
        &self,
        query: &Query,
        top_k: usize,
        documents: Option<&HashSet<&str>>,
    ) -> Result<Vec<Hit>> {
        let spec = self
            .store
            .dense
            .as_ref()
            .expect("checked: the store has an embedder");
        let vector = spec
            .query_vector(query, self.store.embedder.as_ref())
            .await?;
        self.store
            .search_in(&vector, top_k, query.filter.as_ref(), documents, "dense")
    }
}

#[async_trait]
impl Retriever for MemorySearch {
    fn name(&self) -> &str {
        "in-memory"
    }

    async fn retrieve(&self, query: &Query) -> Result<Vec<Hit>> {
        query.validate()?;
        match self.mode {
            SearchMode::Sparse => self.store.bm25.retrieve(query).await,
            SearchMode::Dense => self.dense(query).await,
            SearchMode::Hybrid => {
                let deep = query.clone().top_k(self.candidates.max(query.top_k));
                let lists = vec![
                    RankedList {
                        name: "bm25".into(),
                        weight: 1.0,
                        hits: self.store.bm25.retrieve(&deep).await?,
                    },
                    RankedList {
                        name: "dense".into(),
                        weight: 1.0,
                        hits: self.dense(&deep).await?,
                    },
                ];
                Ok(Rrf::default().fuse(lists, query.top_k))
            }
        }
    }

    async fn score_documents(
        &self,
        query: &Query,
        documents: &[String],
    ) -> Result<Option<Vec<Hit>>> {
        query.validate()?;
        let wanted: HashSet<&str> = documents.iter().map(String::as_str).collect();
        let hits = match self.mode {
            SearchMode::Sparse => self.store.bm25.search(query, usize::MAX, Some(&wanted)),
            SearchMode::Dense => self.dense_in(query, usize::MAX, Some(&wanted)).await?,
            // A hybrid's score is a fused rank, which has no meaning outside its own list.
            SearchMode::Hybrid => return Ok(None),
        };
        Ok(Some(best_per_document(hits, documents)))
    }
}

/// Dense retrieval: embeds the query (or takes a transform's vector made by the same
/// model) and searches an [`InMemoryStore`].
#[derive(Clone)]
pub struct DenseRetriever {
    embedder: Arc<dyn Embedder>,
    store: Arc<InMemoryStore>,
    label: String,
}

impl DenseRetriever {
    /// Searches `store` with vectors from `embedder`; hits are labelled `dense`.
    pub fn new(embedder: Arc<dyn Embedder>, store: Arc<InMemoryStore>) -> Result<Self> {
        if store.dimension.is_none() || embedder.dimension() != store.dimension() {
            return Err(Error::DimensionMismatch {
                field: "dense retriever: embedder vs store".into(),
                expected: store.dimension(),
                actual: embedder.dimension(),
            });
        }
        Ok(Self {
            embedder,
            store,
            label: "dense".into(),
        })
    }

    /// Embeds `chunks` as documents and upserts them, in batches.
    pub async fn index(&self, chunks: Vec<Chunk>) -> Result<()> {
        for batch in chunks.chunks(64) {
            let texts: Vec<String> = batch.iter().map(|c| c.text.clone()).collect();
            let vectors = self
                .embedder
                .embed_checked(&texts, EmbedInput::DOCUMENT)
                .await?;
            let embedded = batch
                .iter()
                .cloned()
                .zip(vectors)
                .map(|(chunk, v)| EmbeddedChunk {
                    chunk,
                    vector: Some(v),
                })
                .collect();
            self.store.upsert(embedded).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl Retriever for DenseRetriever {
    fn name(&self) -> &str {
        &self.label
    }

    async fn retrieve(&self, query: &Query) -> Result<Vec<Hit>> {
        self.search(query, query.top_k, None).await
    }

    async fn score_documents(
        &self,
        query: &Query,
        documents: &[String],
    ) -> Result<Option<Vec<Hit>>> {
        let wanted: HashSet<&str> = documents.iter().map(String::as_str).collect();
        let hits = self.search(query, usize::MAX, Some(&wanted)).await?;
        Ok(Some(best_per_document(hits, documents)))
    }
}

impl DenseRetriever {
    async fn search(
        &self,
        query: &Query,
        top_k: usize,
        documents: Option<&HashSet<&str>>,
    ) -> Result<Vec<Hit>> {
        query.validate()?;
        let owned;
        let vector = match query.vector_for(self.embedder.model_id()) {
            Some(v) => v,
            None => {
                owned = self
                    .embedder
                    .embed_one(&query.text, EmbedInput::QUERY)
                    .await?;
                &owned
            }
        };
        self.store
            .search_in(vector, top_k, query.filter.as_ref(), documents, &self.label)
    }
}
