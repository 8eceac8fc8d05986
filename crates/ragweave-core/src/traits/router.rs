//! Chooses which expert retrievers serve a query.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::query::Query;

/// One chosen expert and how much its results count in fusion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Route {
    /// The expert's name in the pipeline.
    pub expert: String,
    /// Fusion weight; the pipeline passes it to weighted RRF.
    pub weight: f32,
}

/// Picks expert retrievers for a query, best first.
///
/// The router only ever names experts from `experts`; an empty `experts` list is an error,
/// not an empty route.
#[async_trait]
pub trait Router: Send + Sync {
    /// Short name for traces and errors, e.g. `pilot`.
    fn name(&self) -> &str;

    /// Chooses among `experts` (the names the pipeline has) for `query`.
    async fn route(&self, query: &Query, experts: &[String]) -> Result<Vec<Route>>;
}
