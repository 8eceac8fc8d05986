//! Stage 5: the experts' lists reweighed for the query (`[fusion.adaptive]`), fused into one
//! ranking, reranked, cut to `top_k`.

use std::sync::Arc;
use std::time::Instant;

use super::stage::Stage;
use crate::algorithms::fusion::Fusion;
use crate::algorithms::rrf::RankedList;
use crate::answer::Trace;
use crate::error::Result;
use crate::query::Query;
use crate::traits::reranker::Reranker;
use crate::types::Hit;

/// The best `query.top_k` hits of `lists`, fused to `depth` and reranked.
pub(crate) async fn rank(
    mut lists: Vec<RankedList>,
    fusion: &Fusion,
    depth: usize,
    reranker: Option<&Arc<dyn Reranker>>,
    query: &Query,
    trace: &mut Trace,
) -> Result<Vec<Hit>> {
    if let Some(adaptive) = &fusion.adaptive {
        let started = Instant::now();
        let notes = adaptive.apply(&mut lists, fusion.by, &query.text);
        trace.record("adapt", started.elapsed(), notes);
    }
    let started = Instant::now();
    let mut hits = fusion.fuse(lists, depth);
    trace.record("fuse", started.elapsed(), Vec::new());
    if let Some(reranker) = reranker {
        let span = tracing::info_span!("ragweave.rerank");
        hits = Stage::new("rerank", "reranker", span)
            .run(trace, reranker.rerank(query, hits))
            .await?;
    }
    hits.truncate(query.top_k);
    Ok(hits)
}
