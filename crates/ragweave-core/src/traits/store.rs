//! The write side of an index, which ingestion uses.

use async_trait::async_trait;

use crate::error::Result;
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

    /// Ids of the chunks stored for `document_id`, so ingestion can skip unchanged ones.
    async fn document_chunk_ids(&self, document_id: &str) -> Result<Vec<String>>;

    /// Number of chunks stored.
    async fn count(&self) -> Result<usize>;
}
