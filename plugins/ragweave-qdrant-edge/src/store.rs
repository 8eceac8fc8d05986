//! The store: one Qdrant Edge shard in a directory, plus ragweave's manifest and lock.

use std::collections::{BTreeSet, HashMap};
use std::fs::{File, OpenOptions};
use std::mem::ManuallyDrop;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, Weak};

use async_trait::async_trait;
use qdrant_edge::external::serde_json::{Value, json};
use qdrant_edge::external::uuid::Uuid;
use qdrant_edge::{
    CountRequest, CreateIndex, CreateVectorName, DenseVectorConfig, Distance, EdgeConfig,
    EdgeShard, EdgeSparseVectorParams, EdgeVectorParams, FieldIndexOperations, Filter, Modifier,
    PayloadFieldSchema, PayloadSchemaType, PointId, PointInsertOperations, PointOperations,
    PointStruct, ScrollRequest, UpdateOperation, Vector, VectorNameConfig, VectorNameOperations,
    Vectors, WithPayloadInterface,
};
use qdrant_edge::{SparseVector, VectorInternal, VectorStructInternal, WithVector};
use ragweave_core::{
    ChunkStore, DenseSpec, EmbeddedChunk, Embedder, Error, ExportPage, Result, Retriever,
    StoreSearch, check_batch,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::EdgeStoreError;
use ragweave_qdrant_layout::{
    Bm25Encoder, DEFAULT_BM25_AVG_LEN, DENSE_VECTOR, DOC_ID, SPARSE_VECTOR, chunk_from_payload,
    chunk_payload,
};

const MANIFEST: &str = "ragweave-store.json";
const LOCK: &str = "ragweave.lock";
const EDGE_CONFIG: &str = "edge_config.json";
const FORMAT: u32 = 1;
const PAGE: usize = 1024;

/// How to open a store: also the fields of the `qdrant_edge` store kind beside `path` and
/// `embedder`.
#[derive(Clone, Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EdgeStoreOptions {
    /// The average chunk length, in BM25 tokens, that BM25's length normalisation divides
    /// by. Chunks are weighted with it as they are written, so it is fixed when the store is
    /// created and recorded in its manifest; unset takes the recorded value, or Qdrant's
    /// default of 256 for a new store. A corpus far shorter than 256 tokens per chunk ranks
    /// better with its real average (ArguAna: nDCG@10 0.35 at 256, 0.45 at 60).
    pub bm25_avg_len: Option<f32>,
    /// The embedder whose dense vectors the store holds: ingestion embeds with it, and dense
    /// searches embed queries with it. `None` opens a BM25-only store, or an existing store
    /// as it is. A store that has no dense vector yet gains one; a store holding another
    /// model's vectors is refused, since mixing models would make dense search meaningless.
    #[serde(skip)]
    #[schemars(skip)]
    pub embedder: Option<Arc<dyn Embedder>>,
}

impl EdgeStoreOptions {
    /// A store of `embedder`'s vectors, with the other options at their defaults.
    pub fn with_embedder(embedder: Arc<dyn Embedder>) -> Self {
        Self {
            embedder: Some(embedder),
            ..Self::default()
        }
    }

    fn dense(&self) -> Option<DenseSpec> {
        self.embedder.as_deref().map(DenseSpec::of)
    }
}

impl std::fmt::Debug for EdgeStoreOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeStoreOptions")
            .field("bm25_avg_len", &self.bm25_avg_len)
            .field("embedder", &self.embedder.as_ref().map(|e| e.model_id()))
            .finish()
    }
}

fn default_avg_len() -> f32 {
    DEFAULT_BM25_AVG_LEN
}

static OPEN: LazyLock<Mutex<HashMap<PathBuf, Weak<Inner>>>> = LazyLock::new(Default::default);

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: u32,
    dense: Option<DenseSpec>,
    // Stores written before this field existed used Qdrant's default.
    #[serde(default = "default_avg_len")]
    bm25_avg_len: f32,
}

pub(crate) struct Inner {
    /// Dropped by hand, first (before the directory lock goes): the engine flushes in its
    /// `Drop` and panics there when the flush fails.
    pub(crate) shard: ManuallyDrop<EdgeShard>,
    /// Held by every write and its flush: the engine's flush takes its locks with
    /// `try_lock().expect(..)`, so two writers at once would panic inside it.
    writes: Mutex<()>,
    pub(crate) bm25: Bm25Encoder,
    pub(crate) bm25_avg_len: f32,
    pub(crate) dense: Option<DenseSpec>,
    pub(crate) path: PathBuf,
    _lock: File,
}

impl Inner {
    /// Runs one write and its flush, one writer at a time. A flush that fails (a full disk,
    /// an I/O error) panics inside the engine; it comes back as a typed error instead, and
    /// what was flushed before stays on disk.
    ///
    /// `needs` is about what the write adds on disk; a write the disk has no room for is
    /// refused first (see [`Inner::check_room`]).
    pub(crate) fn write<T>(
        &self,
        what: &str,
        needs: u64,
        op: impl FnOnce(&EdgeShard) -> Result<T>,
    ) -> Result<T> {
        let _one_writer = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        self.check_room(what, needs)?;
        let out = op(&self.shard)?;
        flush(&self.shard, &self.path, what)?;
        Ok(out)
    }
}

impl Inner {
    /// Refuses a write that the disk may not have room for. The engine keeps its data in
    /// sparse files that it maps and writes through the mapping: on a full disk such a write
    /// is a SIGBUS that kills the process, not an error it could return. So the holes of
    /// those files (room they may still take) and what the write adds must be free first.
    /// Another process filling the same disk meanwhile can still beat this check.
    fn check_room(&self, what: &str, needs: u64) -> Result<()> {
        let free = fs4::available_space(&self.path).map_err(|e| io(&self.path, e))?;
        let (_, holes) = disk_use(&self.path);
        let wanted = holes.saturating_add(needs).saturating_add(ROOM_TO_SPARE);
        if free >= wanted {
            return Ok(());
        }
        Err(io(
            &self.path,
            std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                format!(
                    "{what} refused: the disk has {} MiB free, and the store may need {} MiB \
                     ({} MiB to fill its files, {} MiB for this write)",
                    free >> 20,
                    wanted >> 20,
                    holes >> 20,
                    needs >> 20
                ),
            ),
        ))
    }
}

/// Free space kept beyond what a write is counted to need.
const ROOM_TO_SPARE: u64 = 1 << 20;

/// Bytes the files under `dir` hold on disk, and bytes more their full lengths would take
/// (where the platform says how much a file holds; elsewhere files count as full).
fn disk_use(dir: &Path) -> (u64, u64) {
    let (mut used, mut holes) = (0u64, 0u64);
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                dirs.push(entry.path());
            } else if meta.is_file() {
                #[cfg(unix)]
                let on_disk = std::os::unix::fs::MetadataExt::blocks(&meta) * 512;
                #[cfg(not(unix))]
                let on_disk = meta.len();
                used += on_disk;
                holes += meta.len().saturating_sub(on_disk);
            }
        }
    }
    (used, holes)
}

/// About what upserting `chunks` adds on disk: the write-ahead log and the segment each take
/// the text, the payload and the vectors, with room for the engine's own records.
fn upsert_bytes(chunks: &[EmbeddedChunk]) -> u64 {
    chunks
        .iter()
        .map(|c| {
            let text = c.chunk.text.len() + c.chunk.id.len() + c.chunk.document_id.len();
            let dense = c.vector.as_ref().map_or(0, |v| v.len() * 4);
            // Text goes in the payload and, as BM25 terms, in the sparse vector.
            (3 * text + 2 * dense + 1024) as u64 * 2
        })
        .sum()
}

/// What a delete of `n` points writes: log records and tombstones.
fn delete_bytes(n: usize) -> u64 {
    64 * 1024 + 256 * n as u64
}

impl Drop for Inner {
    fn drop(&mut self) {
        // A panic out of a drop aborts the process when it happens during another unwind, and
        // is an unexplained panic otherwise. What the failed flush did not write is what the
        // last write already reported failed.
        let shard = &mut self.shard;
        // SAFETY: the shard is dropped here, once, and `Inner` is gone after.
        let closed = catch_unwind(AssertUnwindSafe(|| unsafe { ManuallyDrop::drop(shard) }));
        if let Err(panic) = closed {
            tracing::error!(
                path = %self.path.display(),
                "closing the store failed: {}",
                panic_message(panic.as_ref())
            );
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "the engine's flush failed".into())
}

/// Flushes `shard`, turning the engine's panic on an I/O failure into an error.
fn flush(shard: &EdgeShard, path: &Path, what: &str) -> Result<()> {
    catch_unwind(AssertUnwindSafe(|| shard.flush())).map_err(|panic| {
        let reason = panic_message(panic.as_ref());
        Error::Io {
            path: path.display().to_string(),
            source: std::io::Error::other(format!("{what}: flushing the store failed: {reason}")),
        }
    })
}

/// The embedded default store: a Qdrant Edge shard on disk holding, per chunk, a BM25
/// sparse vector, an optional dense vector (cosine) and the chunk as payload.
///
/// Cloning is cheap and shares the shard. Every write is flushed to disk before it returns,
/// so a process killed at any moment loses at most the write in flight, never one that
/// returned. One process at a time: opening a directory another process holds fails with
/// [`EdgeStoreError::Locked`]; opens within one process share one shard.
///
/// ```no_run
/// # async fn demo() -> ragweave_core::Result<()> {
/// use ragweave_core::{Chunk, ChunkStore, EmbeddedChunk, Query, Retriever};
/// use ragweave_qdrant_edge::{EdgeStore, EdgeStoreOptions, SearchMode};
///
/// let store = EdgeStore::open("my-store", EdgeStoreOptions::default())?;
/// let chunk = Chunk::new("c1", "notes.md", "Qdrant Edge runs in process");
/// store.upsert(vec![EmbeddedChunk { chunk, vector: None }]).await?;
/// let hits = store.searcher(SearchMode::Sparse).retrieve(&Query::new("in process")).await?;
/// assert_eq!(hits[0].chunk.id, "c1");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct EdgeStore {
    pub(crate) inner: Arc<Inner>,
    pub(crate) embedder: Option<Arc<dyn Embedder>>,
}

impl std::fmt::Debug for EdgeStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeStore")
            .field("path", &self.inner.path)
            .field("dense", &self.inner.dense)
            .finish()
    }
}

fn corrupt(path: &Path, reason: impl Into<String>) -> Error {
    EdgeStoreError::Corrupt {
        path: path.display().to_string(),
        reason: reason.into(),
    }
    .into()
}

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source,
    }
}

fn engine(what: &str, e: impl std::fmt::Display) -> Error {
    Error::component("qdrant-edge", format!("{what}: {e}"))
}

fn lock(dir: &Path) -> Result<File> {
    let path = dir.join(LOCK);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| io(&path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(EdgeStoreError::Locked {
            path: dir.display().to_string(),
        }
        .into()),
        Err(std::fs::TryLockError::Error(e)) => Err(io(&path, e)),
    }
}

fn read_manifest(dir: &Path) -> Result<Option<Manifest>> {
    let path = dir.join(MANIFEST);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(&path, e)),
    };
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|e| corrupt(&path, format!("not a ragweave store manifest ({e})")))?;
    if manifest.format != FORMAT {
        return Err(corrupt(
            &path,
            format!(
                "store format {} is not the format {FORMAT} this build reads",
                manifest.format
            ),
        ));
    }
    Ok(Some(manifest))
}

fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<()> {
    let path = dir.join(MANIFEST);
    let tmp = dir.join(format!("{MANIFEST}.tmp"));
    let text = serde_json::to_string_pretty(manifest).expect("manifest serializes");
    // Write then rename, so a crash leaves the old manifest or the new one, never half.
    std::fs::write(&tmp, text).map_err(|e| io(&tmp, e))?;
    File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))?;
    // The rename is durable only once the directory entry is on disk too.
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io(dir, e))?;
    Ok(())
}

fn dense_params(spec: &DenseSpec) -> EdgeVectorParams {
    EdgeVectorParams::builder(spec.dimension, Distance::Cosine).build()
}

fn new_shard(dir: &Path, dense: Option<&DenseSpec>) -> Result<EdgeShard> {
    let mut config = EdgeConfig {
        sparse_vectors: HashMap::from([(
            SPARSE_VECTOR.to_string(),
            EdgeSparseVectorParams {
                modifier: Some(Modifier::Idf),
                ..Default::default()
            },
        )]),
        ..Default::default()
    };
    if let Some(spec) = dense {
        config
            .vectors
            .insert(DENSE_VECTOR.to_string(), dense_params(spec));
    }
    let shard = EdgeShard::new(dir, config).map_err(|e| engine("creating the store", e))?;
    shard
        .update(UpdateOperation::FieldIndexOperation(
            FieldIndexOperations::CreateIndex(CreateIndex {
                field_name: DOC_ID.try_into().expect("valid json path"),
                field_schema: Some(PayloadFieldSchema::FieldType(PayloadSchemaType::Keyword)),
            }),
        ))
        .map_err(|e| engine("indexing document ids", e))?;
    Ok(shard)
}

fn add_dense(shard: &EdgeShard, spec: &DenseSpec) -> Result<()> {
    shard
        .update(UpdateOperation::VectorNameOperation(
            VectorNameOperations::CreateVectorName(CreateVectorName {
                vector_name: DENSE_VECTOR.to_string(),
                config: VectorNameConfig::dense(DenseVectorConfig {
                    size: spec.dimension,
                    distance: Distance::Cosine,
                    multivector_config: None,
                    datatype: None,
                }),
            }),
        ))
        .map_err(|e| engine("adding the dense vector", e))
}

impl EdgeStore {
    /// Opens the store in `dir`, creating it (and the directory) when absent.
    ///
    /// Errors ([`EdgeStoreError`] inside [`Error::Component`]): `Locked` when another process
    /// has it open; `Corrupt` when the directory holds something that is not a readable
    /// store (a non-empty directory without a manifest is refused rather than written into);
    /// [`Error::Config`] when `options.embedder` is another model than the stored vectors'.
    pub fn open(dir: impl AsRef<Path>, options: EdgeStoreOptions) -> Result<Self> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let key = dir.canonicalize().map_err(|e| io(dir, e))?;
        // Handles in one process share the shard: two experts may search one store.
        let mut open = OPEN.lock().expect("open-store table");
        if let Some(inner) = open.get(&key).and_then(Weak::upgrade) {
            check_avg_len(dir, inner.bm25_avg_len, options.bm25_avg_len)?;
            return match &options.dense() {
                Some(wanted) if inner.dense.as_ref() != Some(wanted) => Err(Error::config(
                    "embedder",
                    format!(
                        "store `{}` is already open in this process with dense vectors {:?}, \
                         not {wanted:?}",
                        dir.display(),
                        inner.dense
                    ),
                )),
                _ => Ok(Self {
                    inner,
                    embedder: options.embedder,
                }),
            };
        }
        let store = Self::open_unshared(dir, options)?;
        open.retain(|_, weak| weak.strong_count() > 0);
        open.insert(key, Arc::downgrade(&store.inner));
        Ok(store)
    }

    fn open_unshared(dir: &Path, options: EdgeStoreOptions) -> Result<Self> {
        let lock = lock(dir)?;
        let manifest = match read_manifest(dir)? {
            Some(m) => m,
            None => {
                let foreign = std::fs::read_dir(dir)
                    .map_err(|e| io(dir, e))?
                    .filter_map(|e| e.ok())
                    .find(|e| e.file_name() != LOCK);
                if let Some(entry) = foreign {
                    return Err(corrupt(
                        dir,
                        format!(
                            "the directory is not empty ({}) and has no {MANIFEST}; \
                             choose an empty or new directory",
                            entry.file_name().to_string_lossy()
                        ),
                    ));
                }
                let avg = options.bm25_avg_len.unwrap_or(DEFAULT_BM25_AVG_LEN);
                // Refuses a bad length before anything is written.
                Bm25Encoder::new(avg)?;
                let m = Manifest {
                    format: FORMAT,
                    dense: options.dense(),
                    bm25_avg_len: avg,
                };
                write_manifest(dir, &m)?;
                m
            }
        };
        let shard = if dir.join(EDGE_CONFIG).exists() {
            EdgeShard::load(dir, None).map_err(|e| {
                corrupt(
                    dir,
                    format!("Qdrant Edge cannot load it ({e}); re-ingest into a new directory"),
                )
            })?
        } else {
            new_shard(dir, manifest.dense.as_ref())?
        };
        check_avg_len(dir, manifest.bm25_avg_len, options.bm25_avg_len)?;
        let bm25_avg_len = manifest.bm25_avg_len;
        let dense = match (manifest.dense, options.dense()) {
            (Some(stored), Some(wanted)) if stored != wanted => {
                return Err(Error::config(
                    "embedder",
                    format!(
                        "store `{}` holds {}-d vectors of `{}`, but the embedder is `{}` \
                         ({}-d); ingest into a new store directory to switch models",
                        dir.display(),
                        stored.dimension,
                        stored.model,
                        wanted.model,
                        wanted.dimension
                    ),
                ));
            }
            (None, Some(wanted)) => {
                // A crash after adding the vector but before the manifest leaves it there.
                if !shard.config().vectors.contains_key(DENSE_VECTOR) {
                    add_dense(&shard, &wanted)?;
                }
                flush(&shard, dir, "add the dense vector")?;
                write_manifest(
                    dir,
                    &Manifest {
                        format: FORMAT,
                        dense: Some(wanted.clone()),
                        bm25_avg_len,
                    },
                )?;
                Some(wanted)
            }
            (stored, _) => stored,
        };
        let bm25 = Bm25Encoder::new(bm25_avg_len)?;
        Ok(Self {
            inner: Arc::new(Inner {
                shard: ManuallyDrop::new(shard),
                writes: Mutex::new(()),
                bm25,
                bm25_avg_len,
                dense,
                path: dir.to_path_buf(),
                _lock: lock,
            }),
            embedder: options.embedder,
        })
    }

    /// The average chunk length in BM25 tokens this store's BM25 weights assume.
    pub fn bm25_avg_len(&self) -> f32 {
        self.inner.bm25_avg_len
    }

    /// Whether `dir` holds a store (its manifest), without opening or locking it.
    pub fn exists(dir: impl AsRef<Path>) -> bool {
        dir.as_ref().join(MANIFEST).is_file()
    }

    /// The directory the store lives in.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs blocking engine work off the async runtime's worker threads.
    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&inner))
            .await
            .map_err(|e| Error::component("qdrant-edge", format!("worker thread failed: {e}")))?
    }

    fn validate(&self, chunks: &[EmbeddedChunk]) -> Result<()> {
        let dimension = self.inner.dense.as_ref().map(|d| d.dimension);
        check_batch(
            chunks,
            dimension,
            "this store holds no dense vectors; open it with an embedder",
        )
    }

    /// Every stored chunk id with its document id, in point-id order.
    pub async fn chunk_ids(&self) -> Result<Vec<(String, String)>> {
        self.blocking(|inner| {
            let mut out = Vec::new();
            scroll(inner, None, &["chunk_id", DOC_ID], |payload| {
                let chunk = payload.get("chunk_id").and_then(Value::as_str);
                let doc = payload.get(DOC_ID).and_then(Value::as_str);
                if let (Some(c), Some(d)) = (chunk, doc) {
                    out.push((c.to_string(), d.to_string()));
                }
            })?;
            Ok(out)
        })
        .await
    }

    /// Fetches stored chunks by id, in the order asked; ids not stored are left out.
    pub async fn get(&self, ids: &[String]) -> Result<Vec<ragweave_core::Chunk>> {
        let points: Vec<PointId> = ids.iter().map(|id| point_id(id)).collect();
        self.blocking(move |inner| {
            let records = inner
                .shard
                .retrieve(&points, Some(WithPayloadInterface::Bool(true)), None)
                .map_err(|e| engine("retrieve", e))?;
            records
                .into_iter()
                .map(|r| chunk_from_payload(r.payload.as_ref().map(|p| &p.0)))
                .collect()
        })
        .await
    }
}

/// A store keeps the BM25 length it was written with; asking for another is a mistake.
fn check_avg_len(dir: &Path, stored: f32, wanted: Option<f32>) -> Result<()> {
    match wanted {
        Some(w) if w != stored => Err(Error::config(
            "bm25_avg_len",
            format!(
                "store `{}` weighs BM25 for chunks of {stored} tokens on average, not {w}; \
                 ingest into a new store directory to change it",
                dir.display()
            ),
        )),
        _ => Ok(()),
    }
}

/// The engine's id of a chunk's point.
pub(crate) fn point_id(chunk_id: &str) -> PointId {
    PointId::Uuid(ragweave_qdrant_layout::point_id(chunk_id))
}

/// Qdrant Edge's sparse vector of the layout's BM25 weights.
pub(crate) fn sparse_vector(bm25: &Bm25Encoder, text: &str) -> SparseVector {
    let terms = bm25.encode(text);
    SparseVector {
        indices: terms.indices,
        values: terms.values,
    }
}

pub(crate) fn doc_filter(document_id: &str) -> Filter {
    serde_json::from_value(json!({"must": [{"key": DOC_ID, "match": {"value": document_id}}]}))
        .expect("document filter is valid")
}

/// Visits the selected payload fields of every point matching `filter`.
fn scroll(
    inner: &Inner,
    filter: Option<Filter>,
    fields: &[&str],
    mut visit: impl FnMut(&qdrant_edge::external::serde_json::Map<String, Value>),
) -> Result<()> {
    let selector: WithPayloadInterface =
        serde_json::from_value(json!({ "include": fields })).expect("valid payload selector");
    let mut offset = None;
    loop {
        let (records, next) = inner
            .shard
            .scroll(ScrollRequest {
                offset,
                limit: Some(PAGE),
                filter: filter.clone(),
                with_payload: Some(selector.clone()),
                with_vector: Default::default(),
                order_by: None,
            })
            .map_err(|e| engine("scroll", e))?;
        for r in &records {
            if let Some(p) = &r.payload {
                visit(&p.0);
            }
        }
        match next {
            Some(n) => offset = Some(n),
            None => return Ok(()),
        }
    }
}

pub(crate) fn count(inner: &Inner, filter: Option<Filter>) -> Result<usize> {
    inner
        .shard
        .count(CountRequest {
            filter,
            exact: true,
        })
        .map_err(|e| engine("count", e))
}

#[async_trait]
impl ChunkStore for EdgeStore {
    fn name(&self) -> &str {
        "qdrant-edge"
    }

    fn location(&self) -> String {
        self.inner.path.display().to_string()
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

    /// Merges segments and builds the vector indexes (HNSW, sparse) the engine searches
    /// faster with; worth running after a large ingestion.
    async fn optimize(&self) -> Result<()> {
        self.blocking(|inner| {
            // Merging segments writes a copy of them before the old ones go.
            let (used, _) = disk_use(&inner.path);
            inner.write("optimize", used, |shard| {
                shard.optimize().map_err(|e| engine("optimize", e))?;
                Ok(())
            })
        })
        .await
    }

    /// Pages in point-id order; `next` is a point id.
    async fn export(&self, from: Option<&str>, limit: usize) -> Result<ExportPage> {
        let offset = match from {
            None => None,
            Some(s) => Some(match (Uuid::parse_str(s), s.parse::<u64>()) {
                (Ok(u), _) => PointId::Uuid(u),
                (_, Ok(n)) => PointId::NumId(n),
                _ => {
                    return Err(Error::invalid(
                        "from",
                        format!("{s:?} is not a point id (a UUID or an unsigned integer)"),
                    ));
                }
            }),
        };
        let with_vector = match self.inner.dense {
            Some(_) => WithVector::Selector(vec![DENSE_VECTOR.to_string()]),
            None => WithVector::Bool(false),
        };
        self.blocking(move |inner| {
            let (records, next) = inner
                .shard
                .scroll(ScrollRequest {
                    offset,
                    limit: Some(limit.max(1)),
                    filter: None,
                    with_payload: Some(WithPayloadInterface::Bool(true)),
                    with_vector,
                    order_by: None,
                })
                .map_err(|e| engine("scroll", e))?;
            let chunks = records
                .into_iter()
                .map(|r| {
                    let chunk = chunk_from_payload(r.payload.as_ref().map(|p| &p.0))?;
                    let vector = match r.vector {
                        Some(VectorStructInternal::Named(mut named)) => {
                            match named.remove(DENSE_VECTOR) {
                                Some(VectorInternal::Dense(v)) => Some(v),
                                _ => None,
                            }
                        }
                        _ => None,
                    };
                    Ok(EmbeddedChunk { chunk, vector })
                })
                .collect::<Result<Vec<_>>>()?;
            let next = next.map(|id| match id {
                PointId::Uuid(u) => u.to_string(),
                PointId::NumId(n) => n.to_string(),
            });
            Ok(ExportPage { chunks, next })
        })
        .await
    }

    async fn upsert(&self, chunks: Vec<EmbeddedChunk>) -> Result<()> {
        self.validate(&chunks)?;
        if chunks.is_empty() {
            return Ok(());
        }
        let needs = upsert_bytes(&chunks);
        self.blocking(move |inner| {
            // The last copy of an id wins, as if the batch were applied one by one.
            let mut by_id: HashMap<PointId, PointStruct> = HashMap::with_capacity(chunks.len());
            for c in chunks {
                let mut vectors: Vec<(&str, Vector)> = vec![(
                    SPARSE_VECTOR,
                    sparse_vector(&inner.bm25, &c.chunk.text).into(),
                )];
                if let Some(v) = c.vector {
                    vectors.push((DENSE_VECTOR, Vector::new_dense(v)));
                }
                let id = point_id(&c.chunk.id);
                let point =
                    PointStruct::new(id, Vectors::new_named(vectors), chunk_payload(&c.chunk));
                by_id.insert(id, point);
            }
            let points = by_id.into_values().map(Into::into).collect();
            inner.write("upsert", needs, |shard| {
                shard
                    .update(UpdateOperation::PointOperation(
                        PointOperations::UpsertPoints(PointInsertOperations::PointsList(points)),
                    ))
                    .map_err(|e| engine("upsert", e))
            })
        })
        .await
    }

    async fn delete_document(&self, document_id: &str) -> Result<usize> {
        let filter = doc_filter(document_id);
        self.blocking(move |inner| {
            let n = count(inner, Some(filter.clone()))?;
            if n > 0 {
                inner.write("delete", delete_bytes(n), |shard| {
                    shard
                        .update(UpdateOperation::PointOperation(
                            PointOperations::DeletePointsByFilter(filter),
                        ))
                        .map_err(|e| engine("delete", e))
                })?;
            }
            Ok(n)
        })
        .await
    }

    async fn delete_chunks(&self, chunk_ids: &[String]) -> Result<usize> {
        let ids: Vec<PointId> = chunk_ids.iter().map(|id| point_id(id)).collect();
        self.blocking(move |inner| {
            let present = inner
                .shard
                .retrieve(&ids, Some(WithPayloadInterface::Bool(false)), None)
                .map_err(|e| engine("retrieve", e))?;
            let ids: Vec<PointId> = present.into_iter().map(|r| r.id).collect();
            if !ids.is_empty() {
                let n = ids.len();
                inner.write("delete", delete_bytes(n), |shard| {
                    shard
                        .update(UpdateOperation::PointOperation(
                            PointOperations::DeletePoints { ids },
                        ))
                        .map_err(|e| engine("delete", e))
                })?;
                return Ok(n);
            }
            Ok(0)
        })
        .await
    }

    async fn document_chunk_ids(&self, document_id: &str) -> Result<Vec<String>> {
        let filter = doc_filter(document_id);
        self.blocking(move |inner| {
            let mut ids = Vec::new();
            scroll(inner, Some(filter), &["chunk_id"], |p| {
                if let Some(id) = p.get("chunk_id").and_then(Value::as_str) {
                    ids.push(id.to_string());
                }
            })?;
            Ok(ids)
        })
        .await
    }

    async fn document_ids(&self) -> Result<Vec<String>> {
        self.blocking(|inner| {
            let mut ids = BTreeSet::new();
            scroll(inner, None, &[DOC_ID], |p| {
                if let Some(id) = p.get(DOC_ID).and_then(Value::as_str) {
                    ids.insert(id.to_string());
                }
            })?;
            Ok(ids.into_iter().collect())
        })
        .await
    }

    async fn count(&self) -> Result<usize> {
        self.blocking(|inner| count(inner, None)).await
    }
}
