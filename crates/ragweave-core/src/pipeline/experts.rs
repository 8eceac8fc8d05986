//! Stage 4: the chosen experts, run concurrently on the caller's task; failures skipped or
//! fatal as [`ExpertFailure`] says.

use std::sync::Arc;
use std::time::Instant;

use tracing::Instrument;

use super::builder::ExpertFailure;
use super::stage::WithElapsed;
use crate::algorithms::fusion::Fusion;
use crate::algorithms::rrf::RankedList;
use crate::answer::Trace;
use crate::error::{Error, Result};
use crate::query::Query;
use crate::traits::retriever::Retriever;

/// A named expert: its stage in the trace (`retrieve:<name>`) and its component in errors
/// (`expert <name>`).
pub(crate) struct Expert {
    pub(crate) name: String,
    pub(crate) stage: String,
    pub(crate) component: String,
    pub(crate) retriever: Arc<dyn Retriever>,
}

/// Each chosen expert's hits as a weighted list for fusion.
pub(crate) async fn run_experts(
    chosen: &[(&Expert, f32)],
    query: &Query,
    fusion: &Fusion,
    on_failure: ExpertFailure,
    trace: &mut Trace,
) -> Result<Vec<RankedList>> {
    let results = futures::future::join_all(chosen.iter().map(|(expert, _)| {
        let started = Instant::now();
        expert
            .retriever
            .retrieve(query)
            .instrument(tracing::info_span!("ragweave.retrieve", expert = %expert.name))
            .map_with_elapsed(started)
    }))
    .await;
    let failed = results.iter().filter(|(r, _)| r.is_err()).count();
    let mut lists = Vec::with_capacity(results.len());
    let mut first_error = None;
    for ((expert, weight), (result, elapsed)) in chosen.iter().zip(results) {
        match result {
            Ok(hits) => {
                trace.record(expert.stage.clone(), elapsed, Vec::new());
                lists.push(RankedList {
                    name: expert.name.clone(),
                    weight: *weight * fusion.weight(&expert.name),
                    hits,
                });
            }
            Err(e) => {
                let e = e.in_component(&expert.component);
                tracing::warn!(expert = %expert.name, error = %e.report(), "expert failed");
                let note = format!("failed: {}", e.report());
                trace.record(expert.stage.clone(), elapsed, vec![note]);
                if on_failure == ExpertFailure::Fail {
                    return Err(e);
                }
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(first) if lists.is_empty() => Err(Error::AllExpertsFailed {
            count: failed,
            first: Box::new(first),
        }),
        _ => Ok(lists),
    }
}
