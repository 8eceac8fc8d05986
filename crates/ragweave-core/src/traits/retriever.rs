//! Finds the chunks that answer a query.

use std::collections::HashSet;

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

    /// Scores chosen documents for `query` as [`Retriever::retrieve`] would, however deep
    /// they rank: for each of `documents` with a chunk that matches the query (and
    /// `query.filter`), that document's best chunk, best first; `query.top_k` does not
    /// apply. `None` (the default) when this retriever cannot score chosen documents.
    ///
    /// Fusion with `[fusion] score_union = true` asks each expert for the candidates that
    /// the other experts found and it did not, so that no candidate is fused with a
    /// missing score.
    async fn score_documents(
        &self,
        query: &Query,
        documents: &[String],
    ) -> Result<Option<Vec<Hit>>> {
        let _ = (query, documents);
        Ok(None)
    }
}

/// The best hit of each document in `documents`, best first, from hits sorted best first.
pub fn best_per_document(hits: Vec<Hit>, documents: &[String]) -> Vec<Hit> {
    let wanted: HashSet<&str> = documents.iter().map(String::as_str).collect();
    let mut seen = HashSet::new();
    hits.into_iter()
        .filter(|h| {
            wanted.contains(h.chunk.document_id.as_str())
                && seen.insert(h.chunk.document_id.clone())
        })
        .collect()
}
