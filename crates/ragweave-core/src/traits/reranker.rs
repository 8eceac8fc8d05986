//! Rescores retrieved hits with a stronger model.

use async_trait::async_trait;

use crate::error::Result;
use crate::query::Query;
use crate::types::Hit;

/// Rescores hits against the query (a cross-encoder, an LLM ranker).
///
/// Returns the hits it keeps with new scores, sorted best first. It must not invent hits.
#[async_trait]
pub trait Reranker: Send + Sync {
    /// Short name of the engine for traces and errors, e.g. `cross-encoder`.
    fn name(&self) -> &str;

    /// Rescores `hits` for `query`.
    async fn rerank(&self, query: &Query, hits: Vec<Hit>) -> Result<Vec<Hit>>;
}
