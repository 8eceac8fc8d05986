//! Searching a collection: BM25, dense, or both fused on the server.

use std::sync::Arc;

use async_trait::async_trait;
use qdrant_client::qdrant::{
    Filter, PrefetchQuery, Query as QQuery, QueryPoints, Rrf as QRrf, SearchParams, VectorInput,
};
use ragweave_core::algorithms::rrf::{RankedList, Rrf};
use ragweave_core::{
    Embedder, Hit, HybridFusion, Query, Result, Retriever, SearchMode, StoreSearch,
    best_per_document, sort_hits_by_id_on_ties,
};
use ragweave_qdrant_layout::{DENSE_VECTOR, SPARSE_VECTOR, Searching};

use crate::filter::{of_documents, to_qdrant_filter};
use crate::points::hits;
use crate::store::QdrantStore;

/// RRF's k, as the embedded store and ragweave's own fusion use it.
const RRF_K: u32 = 60;

fn nearest(input: VectorInput, using: &str) -> (QQuery, String) {
    (QQuery::new_nearest(input), using.to_string())
}

/// A [`Retriever`] over a [`QdrantStore`]. Build it with [`QdrantStore::searcher`], or in a
/// config with the `store` expert kind ([`ChunkStore::retriever`](ragweave_core::ChunkStore::retriever)).
///
/// The same searches as the embedded store's `EdgeRetriever`: dense and hybrid searches
/// take the query vector from [`Query::vector_for`] or embed the query text with the store's
/// embedder (or the one given to [`QdrantRetriever::with_embedder`]); the BM25 side searches
/// [`Query::sparse_text`] weighted as the embedded store weighs it. Hybrid search with
/// [`HybridFusion::Engine`] is one server query: a BM25 and a dense prefetch fused by RRF.
#[derive(Clone, Debug)]
pub struct QdrantRetriever {
    store: QdrantStore,
    search: Searching,
}

impl QdrantStore {
    /// A retriever over this collection in `mode`, embedding queries with the store's
    /// embedder; hits are labelled `qdrant`.
    pub fn searcher(&self, mode: SearchMode) -> QdrantRetriever {
        QdrantRetriever {
            search: Searching::new(self, mode, "qdrant"),
            store: self.clone(),
        }
    }

    /// The retriever `search` asks for (its mode defaulting by the store's embedder).
    pub(crate) fn searcher_for(&self, search: &StoreSearch) -> Result<QdrantRetriever> {
        Ok(QdrantRetriever {
            search: Searching::of(self, search, "qdrant")?,
            store: self.clone(),
        })
    }
}

impl QdrantRetriever {
    /// Embeds query texts with `embedder`; its `model_id` and dimension must be the
    /// collection's.
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

    /// The BM25 side of `query`: `None` when the query has no BM25 terms (stopwords only).
    fn sparse_query(&self, query: &Query) -> Option<(QQuery, String)> {
        let terms = self.store.inner.bm25.encode(&query.sparse_text());
        (!terms.indices.is_empty()).then(|| {
            nearest(
                VectorInput::new_sparse(terms.indices, terms.values),
                SPARSE_VECTOR,
            )
        })
    }

    async fn run(&self, request: QueryPoints, label: &str) -> Result<Vec<Hit>> {
        let found = self
            .store
            .call("query", |c| {
                let r = request.clone();
                async move { c.query(r).await }
            })
            .await?;
        let mut hits = hits(found.result, label)?;
        sort_hits_by_id_on_ties(&mut hits);
        Ok(hits)
    }

    fn request(&self) -> QueryPoints {
        QueryPoints {
            collection_name: self.store.collection().to_string(),
            with_payload: Some(true.into()),
            ..Default::default()
        }
    }

    async fn nearest_hits(
        &self,
        (query, using): (QQuery, String),
        filter: Option<Filter>,
        limit: usize,
        label: &str,
    ) -> Result<Vec<Hit>> {
        let request = QueryPoints {
            query: Some(query),
            using: Some(using),
            filter,
            limit: Some(limit as u64),
            ..self.request()
        };
        self.run(request, label).await
    }
}

#[async_trait]
impl Retriever for QdrantRetriever {
    fn name(&self) -> &str {
        &self.search.name
    }

    async fn retrieve(&self, query: &Query) -> Result<Vec<Hit>> {
        query.validate()?;
        let filter = query
            .filter
            .as_ref()
            .map(|f| to_qdrant_filter(f, "query.filter"))
            .transpose()?;
        let top_k = query.top_k;
        let dense = match self.search.mode {
            SearchMode::Sparse => None,
            SearchMode::Dense | SearchMode::Hybrid => {
                let v = self.search.query_vector(&self.store, query).await?;
                Some(nearest(VectorInput::new_dense(v), DENSE_VECTOR))
            }
        };
        let sparse = match self.search.mode {
            SearchMode::Dense => None,
            SearchMode::Sparse | SearchMode::Hybrid => self.sparse_query(query),
        };
        let depth = self.search.candidates.max(top_k);
        match (self.search.mode, sparse, dense) {
            (SearchMode::Hybrid, Some(s), Some(d)) => match self.search.fusion {
                HybridFusion::Engine => {
                    let prefetch = |(query, using): (QQuery, String)| PrefetchQuery {
                        query: Some(query),
                        using: Some(using),
                        filter: filter.clone(),
                        limit: Some(depth as u64),
                        ..Default::default()
                    };
                    let request = QueryPoints {
                        prefetch: vec![prefetch(s), prefetch(d)],
                        query: Some(QQuery::new_rrf(QRrf {
                            k: Some(RRF_K),
                            weights: vec![],
                        })),
                        limit: Some(top_k as u64),
                        ..self.request()
                    };
                    self.run(request, &self.search.name).await
                }
                HybridFusion::Ragweave => {
                    let bm25 = self.nearest_hits(s, filter.clone(), depth, "bm25").await?;
                    let dense = self.nearest_hits(d, filter, depth, "dense").await?;
                    let list = |name: &str, hits| RankedList {
                        name: name.to_string(),
                        weight: 1.0,
                        hits,
                    };
                    Ok(Rrf::default().fuse(vec![list("bm25", bm25), list("dense", dense)], top_k))
                }
            },
            (_, None, None) => Ok(Vec::new()),
            (_, s, d) => {
                let q = s.or(d).expect("one side is set");
                self.nearest_hits(q, filter, top_k, &self.search.name).await
            }
        }
    }

    async fn score_documents(
        &self,
        query: &Query,
        documents: &[String],
    ) -> Result<Option<Vec<Hit>>> {
        query.validate()?;
        let (scoring, using) = match self.search.mode {
            // A hybrid's score is a fused rank, which has no meaning outside its own list.
            SearchMode::Hybrid => return Ok(None),
            SearchMode::Sparse => match self.sparse_query(query) {
                Some(q) => q,
                None => return Ok(Some(Vec::new())),
            },
            SearchMode::Dense => {
                let v = self.search.query_vector(&self.store, query).await?;
                nearest(VectorInput::new_dense(v), DENSE_VECTOR)
            }
        };
        if documents.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let filter = of_documents(query.filter.as_ref(), documents, "query.filter")?;
        // Every chunk of the chosen documents, so that each one's best is among them; exact,
        // since an approximate search may skip points a filter leaves few of.
        let limit = self.store.count_matching(Some(filter.clone())).await?;
        if limit == 0 {
            return Ok(Some(Vec::new()));
        }
        let request = QueryPoints {
            query: Some(scoring),
            using: Some(using),
            filter: Some(filter),
            limit: Some(limit as u64),
            params: Some(SearchParams {
                exact: Some(true),
                ..Default::default()
            }),
            ..self.request()
        };
        let hits = self.run(request, &self.search.name).await?;
        Ok(Some(best_per_document(hits, documents)))
    }
}
