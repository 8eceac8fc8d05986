//! The write side of an index, which ingestion uses.

use async_trait::async_trait;

use crate::error::{Error, Result};
use crate::types::EmbeddedChunk;

/// A store that ingestion writes chunks into.
///
/// Upserting a chunk id that exists replaces it; nothing is ever stored twice. A batch
/// with a bad vector (wrong dimension, NaN) is rejected whole, before anything is written.
#[async_trait]
pub trait ChunkStore: Send + Sync {
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
