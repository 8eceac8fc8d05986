//! Searching the store: BM25, dense, or both fused.

use std::sync::Arc;

use async_trait::async_trait;
use qdrant_edge::{
    Fusion, NamedQuery, Prefetch, QueryEnum, QueryRequest, ScoredPoint, ScoringQuery, SearchParams,
    VectorInternal, WithPayloadInterface, WithVector,
};
use ragweave_core::algorithms::rrf::{RankedList, Rrf};
use ragweave_core::{
    Embedder, Error, Hit, HybridFusion, Query, Result, Retriever, SearchMode, StoreSearch,
    best_per_document, sort_hits_by_id_on_ties,
};

use crate::filter::{of_documents, to_qdrant};
use crate::store::{EdgeStore, Inner, count, sparse_vector};
use ragweave_qdrant_layout::{DENSE_VECTOR, SPARSE_VECTOR, Searching, chunk_from_payload};

/// A [`Retriever`] over an [`EdgeStore`]. Build it with [`EdgeStore::searcher`], or in a
/// config with the `store` expert kind ([`ChunkStore::retriever`](ragweave_core::ChunkStore::retriever)).
///
/// Dense and hybrid searches take the query vector from [`Query::vector_for`] (a query
/// transform's vector for this store's model) or else embed the query text with the store's
/// embedder (or the one given to [`EdgeRetriever::with_embedder`]). The BM25 side searches
/// [`Query::sparse_text`], so a transform's expansion terms count.
#[derive(Clone, Debug)]
pub struct EdgeRetriever {
    store: EdgeStore,
    search: Searching,
}

impl EdgeStore {
    /// A retriever over this store in `mode`, embedding queries with the store's embedder;
    /// hits are labelled `qdrant-edge`.
    pub fn searcher(&self, mode: SearchMode) -> EdgeRetriever {
        EdgeRetriever {
            search: Searching::new(self, mode, "qdrant-edge"),
            store: self.clone(),
        }
    }

    /// The retriever `search` asks for (its mode defaulting by the store's embedder).
    pub(crate) fn searcher_for(&self, search: &StoreSearch) -> Result<EdgeRetriever> {
        Ok(EdgeRetriever {
            search: Searching::of(self, search, "qdrant-edge")?,
            store: self.clone(),
        })
    }
}

impl EdgeRetriever {
    /// Embeds query texts with `embedder`; its `model_id` and dimension must be the store's.
    pub fn with_embedder(mut self, embedder: Arc<dyn Embedder>) -> Result<Self> {
        self.search.embed_with(&self.store, embedder)?;
        Ok(self)
    }

    /// Where hybrid results are fused.
    pub fn fusion(mut self, fusion: HybridFusion) -> Self {
        self.search.fusion = fusion;
        self
    }

    /// How many hits each side of a hybrid search contributes before fusion (at least
    /// `top_k`; default 50).
    pub fn candidates(mut self, candidates: usize) -> Self {
        self.search.candidates = candidates;
        self
    }

    /// The label put on hits.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.search.name = name.into();
        self
    }
}

fn nearest(vector: VectorInternal, using: &str) -> ScoringQuery {
    ScoringQuery::Vector(QueryEnum::Nearest(NamedQuery {
        query: vector,
        using: Some(using.to_string()),
    }))
}

fn search(
    inner: &Inner,
    scoring: ScoringQuery,
    prefetches: Vec<Prefetch>,
    filter: Option<qdrant_edge::Filter>,
    limit: usize,
) -> Result<Vec<ScoredPoint>> {
    search_with(inner, scoring, prefetches, filter, limit, None)
}

fn search_with(
    inner: &Inner,
    scoring: ScoringQuery,
    prefetches: Vec<Prefetch>,
    filter: Option<qdrant_edge::Filter>,
    limit: usize,
    params: Option<SearchParams>,
) -> Result<Vec<ScoredPoint>> {
    inner
        .shard
        .query(QueryRequest {
            prefetches,
            query: Some(scoring),
            filter,
            score_threshold: None,
            limit,
            offset: 0,
            params,
            with_vector: WithVector::Bool(false),
            with_payload: WithPayloadInterface::Bool(true),
        })
        .map_err(|e| Error::component("qdrant-edge", format!("search: {e}")))
}

fn hits(points: Vec<ScoredPoint>, name: &str) -> Result<Vec<Hit>> {
    let mut hits = points
        .into_iter()
        .map(|p| {
            let chunk = chunk_from_payload(p.payload.as_ref().map(|p| &p.0))?;
            Ok(Hit::new(chunk, p.score, name))
        })
        .collect::<Result<Vec<_>>>()?;
    sort_hits_by_id_on_ties(&mut hits);
    Ok(hits)
}

impl EdgeRetriever {
    /// The BM25 side of `query`: `None` when the query has no BM25 terms (stopwords only).
    fn sparse_query(&self, query: &Query) -> Option<ScoringQuery> {
        // Weighted like a document (see `Bm25Encoder::encode`).
        let v = sparse_vector(&self.store.inner.bm25, &query.sparse_text());
        (!v.indices.is_empty()).then(|| nearest(VectorInternal::Sparse(v), SPARSE_VECTOR))
    }
}

#[async_trait]
impl Retriever for EdgeRetriever {
    fn name(&self) -> &str {
        &self.search.name
    }

    async fn retrieve(&self, query: &Query) -> Result<Vec<Hit>> {
        query.validate()?;
        let filter = query
            .filter
            .as_ref()
            .map(|f| to_qdrant(f, "query.filter"))
            .transpose()?;
        let top_k = query.top_k;
        let dense = match self.search.mode {
            SearchMode::Sparse => None,
            SearchMode::Dense | SearchMode::Hybrid => {
                Some(self.search.query_vector(&self.store, query).await?)
            }
        };
        let sparse_q = match self.search.mode {
            SearchMode::Dense => None,
            SearchMode::Sparse | SearchMode::Hybrid => self.sparse_query(query),
        };
        let (mode, fusion, depth, name) = (
            self.search.mode,
            self.search.fusion,
            self.search.candidates.max(top_k),
            self.search.name.clone(),
        );
        self.store
            .blocking(move |inner| {
                let dense_q = dense.map(|v| nearest(VectorInternal::Dense(v), DENSE_VECTOR));
                match (mode, sparse_q, dense_q) {
                    (SearchMode::Hybrid, Some(s), Some(d)) => match fusion {
                        HybridFusion::Engine => {
                            let prefetch = |q| Prefetch {
                                prefetches: vec![],
                                query: Some(q),
                                limit: depth,
                                params: None,
                                filter: filter.clone(),
                                score_threshold: None,
                            };
                            let rrf = ScoringQuery::Fusion(Fusion::Rrf {
                                k: 60,
                                weights: None,
                            });
                            let found =
                                search(inner, rrf, vec![prefetch(s), prefetch(d)], None, top_k)?;
                            hits(found, &name)
                        }
                        HybridFusion::Ragweave => {
                            let list = |q, label: &str| -> Result<RankedList> {
                                let found = search(inner, q, vec![], filter.clone(), depth)?;
                                Ok(RankedList {
                                    name: label.to_string(),
                                    weight: 1.0,
                                    hits: hits(found, label)?,
                                })
                            };
                            let lists = vec![list(s, "bm25")?, list(d, "dense")?];
                            Ok(Rrf::default().fuse(lists, top_k))
                        }
                    },
                    (_, None, None) => Ok(Vec::new()),
                    (_, s, d) => {
                        let q = s.or(d).expect("one side is set");
                        hits(search(inner, q, vec![], filter, top_k)?, &name)
                    }
                }
            })
            .await
    }

    async fn score_documents(
        &self,
        query: &Query,
        documents: &[String],
    ) -> Result<Option<Vec<Hit>>> {
        query.validate()?;
        let scoring = match self.search.mode {
            // A hybrid's score is a fused rank, which has no meaning outside its own list.
            SearchMode::Hybrid => return Ok(None),
            SearchMode::Sparse => match self.sparse_query(query) {
                Some(q) => q,
                None => return Ok(Some(Vec::new())),
            },
            SearchMode::Dense => {
                let v = self.search.query_vector(&self.store, query).await?;
                nearest(VectorInternal::Dense(v), DENSE_VECTOR)
            }
        };
        if documents.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let filter = of_documents(query.filter.as_ref(), documents, "query.filter")?;
        let (name, documents) = (self.search.name.clone(), documents.to_vec());
        self.store
            .blocking(move |inner| {
                // Every chunk of the chosen documents, so that each one's best is among them;
                // exact, since an approximate search may skip points a filter leaves few of.
                let limit = count(inner, Some(filter.clone()))?;
                if limit == 0 {
                    return Ok(Some(Vec::new()));
                }
                let exact = SearchParams {
                    exact: true,
                    ..SearchParams::default()
                };
                let found = search_with(inner, scoring, vec![], Some(filter), limit, Some(exact))?;
                Ok(Some(best_per_document(hits(found, &name)?, &documents)))
            })
            .await
    }
}
