//! Finds the chunks that answer a query.

use async_trait::async_trait;

use crate::error::Result;
use crate::query::Query;
use crate::types::Hit;

/// Returns the chunks most relevant to a query.
///
/// Contract (checked by `ragweave_testkit::retriever::check`): at most `query.top_k` hits,
/// sorted by descending score, no chunk twice, only chunks matching `query.filter`, and an
/// [`crate::Error::InvalidInput`] for an empty query or `top_k = 0` (see
/// [`Query::validate`]).
///
/// The pipeline runs chosen experts concurrently on the caller's task, without spawning, so
/// that dropping a query cancels them. A retriever that computes for long on the CPU (an
/// in-process embedding model, a large exhaustive scan) should move that work to a blocking
/// thread (`tokio::task::spawn_blocking`), so the experts really run in parallel.
#[async_trait]
pub trait Retriever: Send + Sync {
    /// Short name for hit labels, traces and errors, e.g. `bm25`.
    fn name(&self) -> &str;

    /// Searches for `query`.
    async fn retrieve(&self, query: &Query) -> Result<Vec<Hit>>;
}
