//! Rewrites a query before retrieval.

use async_trait::async_trait;

use crate::error::Result;
use crate::query::Query;

/// Rewrites or enriches a query before it is routed: expansion, thoughts, a HyDE vector.
///
/// Whatever it adds to [`Query::thoughts`] appears in the answer's trace.
#[async_trait]
pub trait QueryTransform: Send + Sync {
    /// Short name used for the trace stage (`transform:<name>`).
    fn name(&self) -> &str;

    /// Returns the transformed query.
    async fn transform(&self, query: Query) -> Result<Query>;
}
