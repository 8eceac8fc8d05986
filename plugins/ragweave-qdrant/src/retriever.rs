//! Searching a collection: BM25, dense, or both fused on the server.

use std::sync::Arc;

use async_trait::async_trait;
use qdrant_client::qdrant::{
    Filter, PrefetchQuery, Query as QQuery, QueryPoints, Rrf as QRrf, VectorInput,
};
use ragweave_core::algorithms::rrf::{RankedList, Rrf};
use ragweave_core::{Embedder, Hit, Query, Result, Retriever, sort_hits_by_id_on_ties};
use ragweave_qdrant_layout::{
    DENSE_VECTOR, HybridFusion, SPARSE_VECTOR, SearchMode, check_embedder, dense_query_vector,
};

use crate::filter::to_qdrant_filter;
use crate::points::hits;
use crate::store::QdrantStore;

/// RRF's k, as the embedded store and ragweave's own fusion use it.
const RRF_K: u32 = 60;

/// A [`Retriever`] over a [`QdrantStore`]. Build it with [`QdrantStore::retriever`].
///
/// The same searches as the embedded store's `EdgeRetriever`: dense and hybrid searches
/// take the query vector from [`Query::vector_for`] or embed the query text with the
/// embedder given to [`QdrantRetriever::with_embedder`]; the BM25 side searches
/// [`Query::sparse_text`] weighted as the embedded store weighs it. Hybrid search with
/// [`HybridFusion::Engine`] is one server query: a BM25 and a dense prefetch fused by RRF.
#[derive(Clone)]
pub struct QdrantRetriever {
    store: QdrantStore,
    mode: SearchMode,
    fusion: HybridFusion,
    embedder: Option<Arc<dyn Embedder>>,
    candidates: usize,
    name: String,
}

impl std::fmt::Debug for QdrantRetriever {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QdrantRetriever")
            .field("store", &self.store)
            .field("mode", &self.mode)
            .field("fusion", &self.fusion)
            .field("candidates", &self.candidates)
            .finish()
    }
}

impl QdrantStore {
    /// A retriever over this collection in `mode`; hits are labelled `qdrant`.
    pub fn retriever(&self, mode: SearchMode) -> QdrantRetriever {
        QdrantRetriever {
            store: self.clone(),
            mode,
            fusion: HybridFusion::default(),
            embedder: None,
            candidates: 50,
            name: "qdrant".into(),
        }
    }

    fn label(&self) -> String {
        format!("{}/{}", self.url(), self.collection())
    }
}

fn nearest(input: VectorInput, using: &str) -> (QQuery, String) {
    (QQuery::new_nearest(input), using.to_string())
}

impl QdrantRetriever {
    /// Embeds query texts with `embedder`; its `model_id` and dimension must be the
    /// collection's.
    pub fn with_embedder(mut self, embedder: Arc<dyn Embedder>) -> Result<Self> {
        check_embedder(self.store.dense(), embedder.as_ref(), &self.store.label())?;
        self.embedder = Some(embedder);
        Ok(self)
    }

    /// Where hybrid results are fused.
    pub fn fusion(mut self, fusion: HybridFusion) -> Self {
        self.fusion = fusion;
        self
    }

    /// How many hits each side of a hybrid search contributes before fusion (at least
    /// `top_k`; default 50).
    pub fn candidates(mut self, candidates: usize) -> Self {
        self.candidates = candidates;
        self
    }

    /// The label put on hits.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
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

    async fn search(
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
    async fn retrieve(&self, query: &Query) -> Result<Vec<Hit>> {
        query.validate()?;
        let filter = query
            .filter
            .as_ref()
            .map(|f| to_qdrant_filter(f, "query.filter"))
            .transpose()?;
        let top_k = query.top_k;
        let dense = match self.mode {
            SearchMode::Sparse => None,
            SearchMode::Dense | SearchMode::Hybrid => {
                let label = self.store.label();
                let v =
                    dense_query_vector(query, self.store.dense(), self.embedder.as_ref(), &label)
                        .await?;
                Some(nearest(VectorInput::new_dense(v), DENSE_VECTOR))
            }
        };
        let sparse = match self.mode {
            SearchMode::Dense => None,
            SearchMode::Sparse | SearchMode::Hybrid => {
                let terms = self.store.inner.bm25.encode(&query.sparse_text());
                // A query of stopwords only has no BM25 terms; it matches nothing.
                (!terms.indices.is_empty()).then(|| {
                    nearest(
                        VectorInput::new_sparse(terms.indices, terms.values),
                        SPARSE_VECTOR,
                    )
                })
            }
        };
        let depth = self.candidates.max(top_k);
        match (self.mode, sparse, dense) {
            (SearchMode::Hybrid, Some(s), Some(d)) => match self.fusion {
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
                    self.run(request, &self.name).await
                }
                HybridFusion::Ragweave => {
                    let bm25 = self.search(s, filter.clone(), depth, "bm25").await?;
                    let dense = self.search(d, filter, depth, "dense").await?;
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
                self.search(q, filter, top_k, &self.name).await
            }
        }
    }
}
