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
#[async_trait]
pub trait Retriever: Send + Sync {
    /// Searches for `query`.
    async fn retrieve(&self, query: &Query) -> Result<Vec<Hit>>;
}
