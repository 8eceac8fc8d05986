//! The store: one collection on a Qdrant server or cluster.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use qdrant_client::Qdrant;
use qdrant_client::qdrant::points_selector::PointsSelectorOneOf;
use qdrant_client::qdrant::with_payload_selector::SelectorOptions;
use qdrant_client::qdrant::{
    Condition, CountPoints, DeletePoints, Filter, GetPoints, PayloadIncludeSelector, PointId,
    PointsIdsList, PointsSelector, ScrollPoints, UpsertPoints, WithPayloadSelector,
};
use qdrant_client::qdrant::{VectorsSelector, WithVectorsSelector, with_vectors_selector};
use ragweave_core::{
    ChunkStore, DenseSpec, EmbeddedChunk, Embedder, Error, ExportPage, Result, Retriever,
    StoreSearch, check_batch,
};
use ragweave_qdrant_layout::{Bm25Encoder, DENSE_VECTOR, DOC_ID};

use crate::collection::prepare;
use crate::error::QdrantError;
use crate::options::QdrantOptions;
use crate::points::{chunks, exported, last_copies, point, point_id};
use crate::retry::RetryPolicy;

const PAGE: u32 = 1024;

pub(crate) struct Inner {
    pub(crate) client: Qdrant,
    pub(crate) url: String,
    pub(crate) collection: String,
    pub(crate) dense: Option<DenseSpec>,
    pub(crate) bm25: Bm25Encoder,
    pub(crate) retry: RetryPolicy,
    batch_size: usize,
}

/// A ragweave store in a Qdrant collection: per chunk a BM25 sparse vector (`bm25`, IDF by
/// the server), an optional dense cosine vector (`dense`) and the chunk as payload, laid
/// out as the embedded store (`ragweave-qdrant-edge`) lays out its shard. Cloning is cheap.
///
/// Every write waits until the server has applied it. Writes and reads are retried by
/// [`QdrantOptions::retry`] on transient failures; point ids are the chunks' content-hash
/// ids, so a retried batch (applied or not the first time) leaves each chunk stored once.
///
/// ```no_run
/// # async fn demo() -> ragweave_core::Result<()> {
/// use ragweave_core::{Chunk, ChunkStore, EmbeddedChunk, Query, Retriever};
/// use ragweave_qdrant::{QdrantOptions, QdrantStore, SearchMode};
///
/// let store = QdrantStore::connect("notes", QdrantOptions::at("http://localhost:6334")).await?;
/// let chunk = Chunk::new("c1", "notes.md", "Qdrant shards a collection over a cluster");
/// store.upsert(vec![EmbeddedChunk { chunk, vector: None }]).await?;
/// let hits = store.searcher(SearchMode::Sparse).retrieve(&Query::new("cluster")).await?;
/// assert_eq!(hits[0].chunk.id, "c1");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct QdrantStore {
    pub(crate) inner: Arc<Inner>,
    pub(crate) embedder: Option<Arc<dyn Embedder>>,
}

impl std::fmt::Debug for QdrantStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QdrantStore")
            .field("url", &self.inner.url)
            .field("collection", &self.inner.collection)
            .field("dense", &self.inner.dense)
            .finish()
    }
}

impl QdrantStore {
    /// Connects to the server, creates the collection when missing (if
    /// [`QdrantOptions::create_missing`]) and checks it: a ragweave layout, the dense size
    /// and model asked for, the BM25 length; indexes the payload fields.
    ///
    /// Errors ([`QdrantError`], converted): `Unreachable` naming the URL when the server
    /// does not answer; `Unauthorized` for a refused API key; `UnknownCollection`;
    /// `VectorSize` (as [`ragweave_core::Error::DimensionMismatch`]) naming both sizes;
    /// `Incompatible` for another model, BM25 length or a foreign collection.
    pub async fn connect(collection: &str, options: QdrantOptions) -> Result<Self> {
        Ok(Self::connect_typed(collection, options).await?)
    }

    /// [`QdrantStore::connect`] with the plugin's own error type.
    pub async fn connect_typed(
        collection: &str,
        options: QdrantOptions,
    ) -> std::result::Result<Self, QdrantError> {
        if options.batch_size == 0 {
            return Err(QdrantError::Option {
                option: "batch_size",
                reason: "must be at least 1".into(),
            });
        }
        let target = options.target(collection);
        let mut config = Qdrant::from_url(&target.url)
            .timeout(options.timeout)
            .connect_timeout(options.connect_timeout)
            // The client's own check prints to stdout and blocks; we check below.
            .skip_compatibility_check();
        if let Some(key) = options.resolved_api_key() {
            config = config.api_key(key.as_str());
        }
        let client = config.build().map_err(|e| QdrantError::Option {
            option: "url",
            reason: format!("{:?} is not a server URL: {e}", target.url),
        })?;
        let health = client.health_check().await.map_err(|e| {
            match QdrantError::from_client(&target.url, &target.collection, "health check", e) {
                QdrantError::Server { message, .. } => QdrantError::Unreachable {
                    url: target.url.clone(),
                    reason: message,
                },
                other => other,
            }
        })?;
        warn_on_version(&target.url, &health.version);
        let layout = prepare(&client, &target).await?;
        let bm25 = Bm25Encoder::new(layout.bm25_avg_len).map_err(|e| QdrantError::Option {
            option: "bm25_avg_len",
            reason: e.to_string(),
        })?;
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                url: target.url,
                collection: target.collection,
                dense: layout.dense,
                bm25,
                retry: options.retry,
                batch_size: options.batch_size,
            }),
            embedder: options.embedder,
        })
    }

    /// The server URL.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// The collection.
    pub fn collection(&self) -> &str {
        &self.inner.collection
    }

    /// The average chunk length in BM25 tokens this collection's BM25 weights assume.
    pub fn bm25_avg_len(&self) -> f32 {
        self.inner.bm25.avg_len()
    }

    /// Runs a request with the retry policy, naming this collection in its errors.
    pub(crate) async fn call<T, F, Fut>(
        &self,
        operation: &'static str,
        f: F,
    ) -> std::result::Result<T, QdrantError>
    where
        F: Fn(Qdrant) -> Fut,
        Fut: std::future::Future<Output = std::result::Result<T, qdrant_client::QdrantError>>,
    {
        let inner = &self.inner;
        crate::retry::run(&inner.retry, &inner.url, operation, || {
            let fut = f(inner.client.clone());
            async move {
                fut.await.map_err(|e| {
                    QdrantError::from_client(&inner.url, &inner.collection, operation, e)
                })
            }
        })
        .await
    }

    fn doc_filter(document_id: &str) -> Filter {
        Filter::must([Condition::matches(
            DOC_ID.to_string(),
            qdrant_client::qdrant::r#match::MatchValue::Keyword(document_id.to_string()),
        )])
    }

    /// Visits the selected payload fields of every point matching `filter`.
    async fn scroll(
        &self,
        filter: Option<Filter>,
        fields: &[&str],
        mut visit: impl FnMut(&std::collections::HashMap<String, qdrant_client::qdrant::Value>),
    ) -> Result<()> {
        let selector = WithPayloadSelector {
            selector_options: Some(SelectorOptions::Include(PayloadIncludeSelector {
                fields: fields.iter().map(|f| f.to_string()).collect(),
            })),
        };
        let mut offset: Option<PointId> = None;
        loop {
            let request = ScrollPoints {
                collection_name: self.inner.collection.clone(),
                filter: filter.clone(),
                offset: offset.clone(),
                limit: Some(PAGE),
                with_payload: Some(selector.clone()),
                ..Default::default()
            };
            let page = self
                .call("scroll", |c| {
                    let r = request.clone();
                    async move { c.scroll(r).await }
                })
                .await?;
            for p in &page.result {
                visit(&p.payload);
            }
            match page.next_page_offset {
                Some(next) => offset = Some(next),
                None => return Ok(()),
            }
        }
    }

    pub(crate) async fn count_matching(&self, filter: Option<Filter>) -> Result<usize> {
        let request = CountPoints {
            collection_name: self.inner.collection.clone(),
            filter,
            exact: Some(true),
            ..Default::default()
        };
        let r = self
            .call("count", |c| {
                let r = request.clone();
                async move { c.count(r).await }
            })
            .await?;
        Ok(r.result.map(|c| c.count as usize).unwrap_or(0))
    }

    async fn delete(&self, selector: PointsSelectorOneOf) -> Result<()> {
        let request = DeletePoints {
            collection_name: self.inner.collection.clone(),
            wait: Some(true),
            points: Some(PointsSelector {
                points_selector_one_of: Some(selector),
            }),
            ..Default::default()
        };
        self.call("delete", |c| {
            let r = request.clone();
            async move { c.delete_points(r).await }
        })
        .await?;
        Ok(())
    }

    /// Fetches stored chunks by id, in the order asked; ids not stored are left out.
    pub async fn get(&self, ids: &[String]) -> Result<Vec<ragweave_core::Chunk>> {
        let request = GetPoints {
            collection_name: self.inner.collection.clone(),
            ids: ids.iter().map(|id| point_id(id)).collect(),
            with_payload: Some(true.into()),
            ..Default::default()
        };
        let r = self
            .call("get", |c| {
                let r = request.clone();
                async move { c.get_points(r).await }
            })
            .await?;
        let mut found = chunks(r.result)?;
        let order: std::collections::HashMap<&str, usize> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i))
            .collect();
        found.sort_by_key(|c| order.get(c.id.as_str()).copied().unwrap_or(usize::MAX));
        Ok(found)
    }
}

/// A point id as `export` hands it out: a UUID, or the number of a numeric id.
fn point_id_text(id: PointId) -> Option<String> {
    use qdrant_client::qdrant::point_id::PointIdOptions;
    match id.point_id_options? {
        PointIdOptions::Uuid(u) => Some(u),
        PointIdOptions::Num(n) => Some(n.to_string()),
    }
}

fn uuid_check(s: &str) -> Result<()> {
    match uuid::Uuid::parse_str(s) {
        Ok(_) => Ok(()),
        Err(_) => Err(Error::invalid(
            "from",
            format!("{s:?} is not a point id of this store (a UUID)"),
        )),
    }
}

fn warn_on_version(url: &str, version: &str) {
    let minor = |v: &str| -> Option<(u64, u64)> {
        let mut parts = v.trim_start_matches('v').split('.');
        Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
    };
    // The server version the pinned qdrant-client speaks.
    const OURS: (u64, u64) = (1, 18);
    if let Some((major, m)) = minor(version)
        && (major != OURS.0 || m.abs_diff(OURS.1) > 1)
    {
        tracing::warn!(
            "Qdrant server at {url} is version {version}; ragweave-qdrant is written against 1.18 \
             (qdrant-client 1.18): expect differences past one minor version"
        );
    }
}

#[async_trait]
impl ChunkStore for QdrantStore {
    fn name(&self) -> &str {
        "qdrant"
    }

    fn location(&self) -> String {
        format!("{} at {}", self.inner.collection, self.inner.url)
    }

    fn dense(&self) -> Option<&DenseSpec> {
        self.inner.dense.as_ref()
    }

    fn embedder(&self) -> Option<Arc<dyn Embedder>> {
        self.embedder.clone()
    }

    fn retriever(self: Arc<Self>, search: &StoreSearch) -> Result<Arc<dyn Retriever>> {
        Ok(Arc::new(self.searcher_for(search)?))
    }

    /// Pages in point-id order; `next` is a point id (a UUID).
    async fn export(&self, from: Option<&str>, limit: usize) -> Result<ExportPage> {
        let offset = from
            .map(|s| uuid_check(s).map(|()| PointId::from(s.to_string())))
            .transpose()?;
        let with_vectors = self.inner.dense.as_ref().map(|_| WithVectorsSelector {
            selector_options: Some(with_vectors_selector::SelectorOptions::Include(
                VectorsSelector {
                    names: vec![DENSE_VECTOR.to_string()],
                },
            )),
        });
        let request = ScrollPoints {
            collection_name: self.inner.collection.clone(),
            offset,
            limit: Some(limit.clamp(1, u32::MAX as usize) as u32),
            with_payload: Some(true.into()),
            with_vectors,
            ..Default::default()
        };
        let page = self
            .call("scroll", |c| {
                let r = request.clone();
                async move { c.scroll(r).await }
            })
            .await?;
        Ok(ExportPage {
            chunks: exported(page.result)?,
            next: page.next_page_offset.and_then(point_id_text),
        })
    }

    async fn upsert(&self, chunks: Vec<EmbeddedChunk>) -> Result<()> {
        check_batch(
            &chunks,
            self.inner.dense.as_ref().map(|d| d.dimension),
            "this collection holds no dense vectors; connect with an embedder",
        )?;
        let mut chunks = last_copies(chunks).into_iter().peekable();
        while chunks.peek().is_some() {
            let points: Vec<_> = chunks
                .by_ref()
                .take(self.inner.batch_size)
                .map(|c| point(c, &self.inner.bm25))
                .collect();
            let request = UpsertPoints {
                collection_name: self.inner.collection.clone(),
                wait: Some(true),
                points,
                ..Default::default()
            };
            self.call("upsert", |c| {
                let r = request.clone();
                async move { c.upsert_points(r).await }
            })
            .await?;
        }
        Ok(())
    }

    async fn delete_document(&self, document_id: &str) -> Result<usize> {
        let filter = Self::doc_filter(document_id);
        let n = self.count_matching(Some(filter.clone())).await?;
        if n > 0 {
            self.delete(PointsSelectorOneOf::Filter(filter)).await?;
        }
        Ok(n)
    }

    async fn delete_chunks(&self, chunk_ids: &[String]) -> Result<usize> {
        let request = GetPoints {
            collection_name: self.inner.collection.clone(),
            ids: chunk_ids.iter().map(|id| point_id(id)).collect(),
            with_payload: Some(false.into()),
            ..Default::default()
        };
        let present = self
            .call("get", |c| {
                let r = request.clone();
                async move { c.get_points(r).await }
            })
            .await?;
        let ids: Vec<PointId> = present.result.into_iter().filter_map(|p| p.id).collect();
        let n = ids.len();
        if n > 0 {
            self.delete(PointsSelectorOneOf::Points(PointsIdsList { ids }))
                .await?;
        }
        Ok(n)
    }

    async fn document_chunk_ids(&self, document_id: &str) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        self.scroll(Some(Self::doc_filter(document_id)), &["chunk_id"], |p| {
            if let Some(id) = p.get("chunk_id").and_then(|v| v.as_str()) {
                ids.push(id.to_string());
            }
        })
        .await?;
        Ok(ids)
    }

    async fn document_ids(&self) -> Result<Vec<String>> {
        let mut ids = BTreeSet::new();
        self.scroll(None, &[DOC_ID], |p| {
            if let Some(id) = p.get(DOC_ID).and_then(|v| v.as_str()) {
                ids.insert(id.to_string());
            }
        })
        .await?;
        Ok(ids.into_iter().collect())
    }

    async fn count(&self) -> Result<usize> {
        self.count_matching(None).await
    }
}
