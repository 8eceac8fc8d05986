//! Ingesting a directory tree into a store: diffed, batched and resumable.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ragweave_core::{
    Chunk, ChunkStore, EmbedInput, EmbeddedChunk, Embedder, Error, Metadata, Result,
};

use crate::chunker::{Chunker, with_document_metadata};
use crate::error::IngestError;
use crate::loader::{
    FILE_ID_SCHEME, LoadedDocument, Loader, SourceFile, directory_id_prefix, list_files,
    metadata_bytes,
};

/// What one ingestion run did.
#[derive(Debug, Default)]
pub struct IngestReport {
    /// Input files read.
    pub files: usize,
    /// Documents found in them.
    pub documents: usize,
    /// Documents new to the store.
    pub added: usize,
    /// Documents whose chunks changed.
    pub updated: usize,
    /// Documents already stored exactly as they are now.
    pub unchanged: usize,
    /// Documents removed because their source is gone.
    pub removed: usize,
    /// Chunks written (embedded and upserted).
    pub chunks_written: usize,
    /// Chunks deleted (stale versions and removed documents).
    pub chunks_deleted: usize,
    /// Files skipped on purpose (binary, empty, unsupported, links outside the root).
    pub skipped: Vec<IngestError>,
    /// Files that could not be ingested; whatever was stored for them is kept.
    pub failed: Vec<IngestError>,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl IngestReport {
    fn status(&self, files: usize) -> String {
        let done = self.files + self.failed.len() + self.skipped.len();
        format!(
            "file {done}/{files}, {} chunks written",
            self.chunks_written
        )
    }

    /// Whether the run wrote or deleted anything.
    pub fn wrote_anything(&self) -> bool {
        self.chunks_written > 0 || self.chunks_deleted > 0
    }
}

/// Writes a directory tree into a [`ChunkStore`], so that the store ends up holding exactly
/// the chunks of the files there now.
///
/// - Chunk ids are content hashes (see [`Chunker::chunk`]), and each document's stored ids
///   are compared with its new ones: an unchanged document costs no write, a changed one
///   has its new chunks written and then its old ones deleted, and documents whose file is
///   gone (within the ingested root) are removed.
/// - A run owns only the documents of its root: a file's id is the `file://` URL of its
///   absolute path ([`SourceFile::id`]), and the removal pass looks only at ids under the
///   root's own (`file:///a/docs/` for the folder `/a/docs`; the file's id and its records
///   for a one-file root). Ingesting `/b/docs` leaves `/a/docs`'s documents alone, and
///   documents written by [`Ingestor::ingest_documents`] can never carry such an id.
/// - Chunks are embedded and upserted in batches. The store is the only record of
///   progress, so a run killed at any point resumes on the next: written batches compare
///   equal and are skipped, the rest are written. Ids are deterministic, so nothing is
///   stored twice.
/// - A file that cannot be read is reported in [`IngestReport::failed`] and its stored
///   documents are left alone.
pub struct Ingestor {
    store: Arc<dyn ChunkStore>,
    embedder: Option<Arc<dyn Embedder>>,
    chunker: Chunker,
    loader: Loader,
    batch_size: usize,
    progress: bool,
}

impl std::fmt::Debug for Ingestor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingestor")
            .field("chunker", &self.chunker)
            .field("loader", &self.loader)
            .field("batch_size", &self.batch_size)
            .finish()
    }
}

impl Ingestor {
    /// Ingests into `store`, embedding with the store's own embedder
    /// ([`ChunkStore::embedder`]; none writes text alone, for BM25); chunks of 256 estimated
    /// tokens (the embedder's, where it has a tokenizer) with 32 of overlap, batches of 256
    /// chunks.
    pub fn new(store: Arc<dyn ChunkStore>) -> Self {
        let embedder = store.embedder();
        Self {
            chunker: Chunker::for_embedder(embedder.as_deref(), 256, 32)
                .expect("valid default chunking"),
            embedder,
            store,
            loader: Loader::default(),
            batch_size: 256,
            progress: false,
        }
    }

    /// Embeds chunks with `embedder` in place of the store's own (for a store opened without
    /// one). Call [`Ingestor::chunker`] after this to size chunks with its tokenizer.
    pub fn embedder(mut self, embedder: Arc<dyn Embedder>) -> Self {
        self.embedder = Some(embedder);
        self
    }

    /// How documents are cut.
    pub fn chunker(mut self, chunker: Chunker) -> Self {
        self.chunker = chunker;
        self
    }

    /// How files are read (the size limit).
    pub fn loader(mut self, loader: Loader) -> Self {
        self.loader = loader;
        self
    }

    /// The store written to.
    pub fn store(&self) -> &Arc<dyn ChunkStore> {
        &self.store
    }

    /// Chunks per embed-and-upsert batch (at least 1).
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// Shows a progress bar with documents per second on stderr (when it is a terminal).
    pub fn progress(mut self, progress: bool) -> Self {
        self.progress = progress;
        self
    }

    /// Ingests the files under `root` (a directory or one file).
    ///
    /// Errors only when the root cannot be listed or the store or embedder fails; problems
    /// with single files land in the report.
    pub async fn ingest(&self, root: &Path) -> Result<IngestReport> {
        let started = Instant::now();
        let mut report = IngestReport::default();
        let listing = list_files(root)?;
        let files = listing.files;
        report.skipped = listing.skipped;
        report.failed = listing.failed;
        // An entry that could not be listed may hold stored documents; keep every one.
        let listed_all = report.failed.is_empty();
        let version = self.version();
        let stored: HashSet<String> = self.store.document_ids().await?.into_iter().collect();
        let bar = self.bar();
        let mut batch = Batch::default();
        let mut seen: HashSet<String> = HashSet::new();
        // Files whose documents must not be removed though this run produced none of them.
        let mut kept: Vec<&SourceFile> = Vec::new();
        for file in &files {
            let docs = match self.loader.load(file) {
                Ok(docs) => docs,
                Err(e) => {
                    tracing::warn!(file = %file.path.display(), "{}", ragweave_core::Report::of(&e));
                    if e.is_skip() {
                        report.skipped.push(e);
                    } else {
                        report.failed.push(e);
                    }
                    kept.push(file);
                    continue;
                }
            };
            report.files += 1;
            bar.set_message(report.status(files.len()));
            for doc in docs {
                report.documents += 1;
                bar.inc(1);
                if !seen.insert(doc.document.id.clone()) {
                    continue;
                }
                let stored = stored.contains(&doc.document.id);
                self.stage(&doc, stored, &version, &mut batch, &mut report)
                    .await?;
                if batch.chunks.len() >= self.batch_size {
                    self.write(&mut batch, &mut report).await?;
                    bar.set_message(report.status(files.len()));
                }
            }
        }
        self.write(&mut batch, &mut report).await?;
        // Documents under this root that no file produced any more: their source is gone.
        let scope = Scope::of(root, &files)?;
        let mut removed: Vec<&String> = stored
            .iter()
            .filter(|d| listed_all && !seen.contains(*d) && scope.contains(d))
            .filter(|d| !kept.iter().any(|f| f.owns(d)))
            .collect();
        removed.sort();
        for doc in removed {
            report.chunks_deleted += self.store.delete_document(doc).await?;
            report.removed += 1;
        }
        bar.finish_and_clear();
        report.elapsed = started.elapsed();
        Ok(report)
    }

    /// Ingests documents given in memory (an HTTP upload), as [`Ingestor::ingest`] does
    /// files: unchanged documents cost nothing, changed ones (text or metadata) are
    /// rewritten, a document id given twice keeps its first text. Nothing is removed: a
    /// caller that wants a document gone deletes it. `report.files` stays 0.
    ///
    /// Refused before anything is written: ids starting with [`FILE_ID_SCHEME`], which
    /// belong to file ingestion (`documents[i].id`; that is what keeps an ingest of a folder
    /// from removing an upload, and an upload from overwriting a file), and metadata over
    /// [`Loader::max_metadata_bytes`] (`documents[i].metadata`).
    pub async fn ingest_documents(&self, docs: Vec<LoadedDocument>) -> Result<IngestReport> {
        let limit = self.loader.max_metadata_bytes;
        for (i, doc) in docs.iter().enumerate() {
            if doc.document.id.starts_with(FILE_ID_SCHEME) {
                return Err(Error::invalid(
                    format!("documents[{i}].id"),
                    format!(
                        "ids starting with `{FILE_ID_SCHEME}` are reserved for files ingested \
                         from disk"
                    ),
                ));
            }
            let bytes = metadata_bytes(&doc.document.metadata);
            if bytes > limit {
                return Err(Error::invalid(
                    format!("documents[{i}].metadata"),
                    format!(
                        "is {bytes} bytes of JSON, over the {limit}-byte limit: every chunk \
                         carries a copy"
                    ),
                ));
            }
        }
        let started = Instant::now();
        let mut report = IngestReport::default();
        let version = self.version();
        let mut batch = Batch::default();
        let mut seen: HashSet<String> = HashSet::new();
        for doc in docs {
            report.documents += 1;
            if !seen.insert(doc.document.id.clone()) {
                continue;
            }
            self.stage(&doc, true, &version, &mut batch, &mut report)
                .await?;
            if batch.chunks.len() >= self.batch_size {
                self.write(&mut batch, &mut report).await?;
            }
        }
        self.write(&mut batch, &mut report).await?;
        report.elapsed = started.elapsed();
        Ok(report)
    }

    /// The chunk id version: the embedder's model id, so a new model rewrites every chunk.
    fn version(&self) -> String {
        self.embedder
            .as_ref()
            .map(|e| e.model_id().to_string())
            .unwrap_or_default()
    }

    /// Diffs one document against what is stored and queues its new chunks and stale ids.
    /// `maybe_stored` false skips asking the store (the caller knows it is new).
    async fn stage(
        &self,
        doc: &LoadedDocument,
        maybe_stored: bool,
        version: &str,
        batch: &mut Batch,
        report: &mut IngestReport,
    ) -> Result<()> {
        let id = &doc.document.id;
        let chunks = self.chunker.pieces(doc, version);
        let old: HashSet<String> = if maybe_stored {
            self.store
                .document_chunk_ids(id)
                .await?
                .into_iter()
                .collect()
        } else {
            HashSet::new()
        };
        let new: HashSet<&str> = chunks.iter().map(|c| c.id.as_str()).collect();
        if old.len() == new.len() && old.iter().all(|id| new.contains(id.as_str())) {
            report.unchanged += 1;
            return Ok(());
        }
        if old.is_empty() {
            report.added += 1;
        } else {
            report.updated += 1;
        }
        batch
            .stale
            .extend(old.iter().filter(|id| !new.contains(id.as_str())).cloned());
        let metadata = Arc::new(doc.document.metadata.clone());
        batch.chunks.extend(
            chunks
                .into_iter()
                .filter(|c| !old.contains(&c.id))
                .map(|c| (c, Arc::clone(&metadata))),
        );
        Ok(())
    }

    async fn write(&self, batch: &mut Batch, report: &mut IngestReport) -> Result<()> {
        let mut queued = std::mem::take(&mut batch.chunks);
        while !queued.is_empty() {
            let n = queued.len().min(self.batch_size);
            // The document's metadata is copied into a chunk only for the batch written.
            let part: Vec<Chunk> = queued
                .drain(..n)
                .map(|(mut chunk, metadata)| {
                    with_document_metadata(&mut chunk, &metadata);
                    chunk
                })
                .collect();
            let vectors = match &self.embedder {
                Some(e) => {
                    let texts: Vec<String> = part.iter().map(|c| c.text.clone()).collect();
                    e.embed_checked(&texts, EmbedInput::DOCUMENT)
                        .await?
                        .into_iter()
                        .map(Some)
                        .collect()
                }
                None => vec![None; part.len()],
            };
            let written = part.len();
            let embedded: Vec<EmbeddedChunk> = part
                .into_iter()
                .zip(vectors)
                .map(|(chunk, vector)| EmbeddedChunk { chunk, vector })
                .collect();
            self.store.upsert(embedded).await?;
            report.chunks_written += written;
        }
        // Old versions go only once every new chunk of their documents is stored.
        let stale = std::mem::take(&mut batch.stale);
        if !stale.is_empty() {
            report.chunks_deleted += self.store.delete_chunks(&stale).await?;
        }
        Ok(())
    }

    /// Counts documents, since a JSONL file's count is known only once it is read.
    fn bar(&self) -> ProgressBar {
        if !self.progress {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {pos} documents, {per_sec} ({msg})",
            )
            .expect("valid progress template"),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    }
}

/// Chunks waiting to be written, each with its document's metadata (shared, not copied),
/// and the stale chunk ids to delete once they are.
#[derive(Default)]
struct Batch {
    chunks: Vec<(Chunk, Arc<Metadata>)>,
    stale: Vec<String>,
}

/// Which stored documents a run over one root is responsible for.
enum Scope {
    /// Every file id under a directory root: `file:///home/me/docs/...`.
    Directory(String),
    /// The documents of a single-file root.
    File(SourceFile),
    /// A single-file root that was skipped: nothing.
    Nothing,
}

impl Scope {
    fn of(root: &Path, files: &[SourceFile]) -> Result<Self> {
        if root.is_dir() {
            let canonical = root
                .canonicalize()
                .map_err(|source| IngestError::Unreadable {
                    path: root.to_path_buf(),
                    source,
                })?;
            return Ok(Scope::Directory(directory_id_prefix(&canonical)));
        }
        Ok(files.first().cloned().map_or(Scope::Nothing, Scope::File))
    }

    fn contains(&self, document_id: &str) -> bool {
        match self {
            // Hidden entries are never listed, so a run cannot tell whether their documents
            // are gone: they belong to whoever ingested them as a root of their own.
            Scope::Directory(prefix) => {
                document_id
                    .strip_prefix(prefix.as_str())
                    .is_some_and(|rest| {
                        let path = rest.split_once('#').map_or(rest, |(path, _)| path);
                        !path.split('/').any(|segment| segment.starts_with('.'))
                    })
            }
            Scope::File(file) => file.owns(document_id),
            Scope::Nothing => false,
        }
    }
}
