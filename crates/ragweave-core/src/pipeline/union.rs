//! Stage 4, continued (`[fusion] score_union = true`): each expert scores the candidates that
//! the other experts found and it did not, so fusion never meets a missing score.

use std::collections::HashSet;
use std::time::Instant;

use tracing::Instrument;

use super::builder::ExpertFailure;
use super::experts::Expert;
use crate::algorithms::rrf::RankedList;
use crate::answer::Trace;
use crate::error::Result;
use crate::query::Query;
use crate::types::sort_hits;

/// Extends each of `lists` with its expert's hits for the documents only other lists hold.
///
/// A list whose expert cannot score chosen documents, or fails to, stays as it was (the
/// trace says so); with [`ExpertFailure::Fail`] a failure fails the query.
pub(crate) async fn score_union(
    lists: &mut [RankedList],
    chosen: &[(&Expert, f32)],
    query: &Query,
    on_failure: ExpertFailure,
    trace: &mut Trace,
) -> Result<()> {
    let started = Instant::now();
    let mut union: Vec<&str> = Vec::new();
    let mut seen = HashSet::new();
    for list in lists.iter() {
        for hit in &list.hits {
            if seen.insert(hit.chunk.document_id.as_str()) {
                union.push(hit.chunk.document_id.as_str());
            }
        }
    }
    let wanted: Vec<(Option<&Expert>, Vec<String>)> = lists
        .iter()
        .map(|list| {
            let own: HashSet<&str> = list
                .hits
                .iter()
                .map(|h| h.chunk.document_id.as_str())
                .collect();
            let missing = union
                .iter()
                .filter(|d| !own.contains(**d))
                .map(|d| d.to_string())
                .collect();
            let expert = chosen.iter().find(|(e, _)| e.name == list.name);
            (expert.map(|(e, _)| *e), missing)
        })
        .collect();
    let scored = futures::future::join_all(wanted.iter().map(|(expert, missing)| async move {
        match expert {
            Some(e) if !missing.is_empty() => {
                e.retriever
                    .score_documents(query, missing)
                    .instrument(tracing::info_span!("ragweave.score_union", expert = %e.name))
                    .await
            }
            _ => Ok(Some(Vec::new())),
        }
    }))
    .await;
    let mut notes = Vec::new();
    for ((list, (expert, missing)), result) in lists.iter_mut().zip(&wanted).zip(scored) {
        match result {
            Ok(Some(hits)) => {
                if !missing.is_empty() {
                    notes.push(format!(
                        "{}: {} of {} scored",
                        list.name,
                        hits.len(),
                        missing.len()
                    ));
                }
                list.hits.extend(hits);
                sort_hits(&mut list.hits);
            }
            Ok(None) => notes.push(format!("{}: cannot score chosen documents", list.name)),
            Err(e) => {
                let component = expert.map_or(list.name.as_str(), |e| e.component.as_str());
                let e = e.in_component(component);
                if on_failure == ExpertFailure::Fail {
                    return Err(e);
                }
                tracing::warn!(expert = %list.name, error = %e.report(), "scoring the union failed");
                notes.push(format!("{}: failed: {}", list.name, e.report()));
            }
        }
    }
    trace.record("score_union", started.elapsed(), notes);
    Ok(())
}
