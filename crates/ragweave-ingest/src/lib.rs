//! # ragweave-ingest
//!
//! Turns a directory tree into chunks in a [`ragweave_core::ChunkStore`]:
//!
//! - [`loader`]: finds txt, md, json/jsonl (BEIR corpus lines included) and html files,
//!   skipping binary files, hidden entries and symlinks that lead outside the root, with a
//!   typed [`IngestError`] for each file that cannot be read.
//! - [`Chunker`]: cuts text by the embedder's tokens with overlap, markdown-aware (the
//!   `text-splitter` crate), and names each chunk by a content hash.
//! - [`Ingestor`]: diffs against the store, embeds and upserts in batches with a progress
//!   bar, deletes what is stale, and resumes after being killed with nothing lost or
//!   stored twice.
//! - [`migrate`]: copies one store into another (the embedded store into a Qdrant cluster),
//!   verified by count and resumable from a checkpoint.
//!
//! ```no_run
//! # async fn demo(store: std::sync::Arc<dyn ragweave_core::ChunkStore>) -> ragweave_core::Result<()> {
//! use ragweave_ingest::Ingestor;
//!
//! let report = Ingestor::new(store).progress(true).ingest("docs".as_ref()).await?;
//! println!("{} chunks written, {} unchanged documents", report.chunks_written, report.unchanged);
//! # Ok(()) }
//! ```

mod chunker;
mod error;
mod ingest;
pub mod loader;
mod migrate;

pub use chunker::{Chunker, chunk_id};
pub use error::IngestError;
pub use ingest::{IngestReport, Ingestor};
pub use loader::Loader;
pub use migrate::{MigrateOptions, MigrateReport, migrate};
