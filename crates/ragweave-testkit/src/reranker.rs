//! Conformance of a [`Reranker`].

use std::collections::HashSet;

use ragweave_core::{Chunk, Hit, Query, Reranker};

use crate::{Report, ensure};

/// Checks: hits come back sorted by descending finite score, each from the input (none
/// invented, none twice), and an empty input gives an empty output.
pub async fn check(reranker: &dyn Reranker) -> Report {
    let mut r = Report::new("reranker");
    let texts = [
        "Paris is the capital of France.",
        "Bananas are rich in potassium.",
        "The Eiffel Tower stands in Paris, France's capital.",
        "Photosynthesis converts light into chemical energy.",
    ];
    let hits: Vec<Hit> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            Hit::new(
                Chunk::new(format!("c{i}"), format!("d{i}"), *t),
                1.0 - i as f32 * 0.1,
                "r",
            )
        })
        .collect();
    let query = Query::new("What is the capital of France?");
    match reranker.rerank(&query, hits.clone()).await {
        Ok(out) => {
            let input: HashSet<&str> = hits.iter().map(|h| h.chunk.id.as_str()).collect();
            let mut seen = HashSet::new();
            r.check(
                "returns only input hits, once each",
                match out.iter().find(|h| {
                    !input.contains(h.chunk.id.as_str()) || !seen.insert(h.chunk.id.clone())
                }) {
                    Some(h) => Err(format!("chunk {} invented or repeated", h.chunk.id)),
                    None => Ok(()),
                },
            );
            r.check(
                "sorted by descending finite score",
                ensure(
                    out.iter().all(|h| h.score.is_finite())
                        && out.windows(2).all(|w| w[0].score >= w[1].score),
                    || {
                        format!(
                            "scores {:?}",
                            out.iter().map(|h| h.score).collect::<Vec<_>>()
                        )
                    },
                ),
            );
        }
        Err(e) => r.check("reranks", Err(format!("error: {}", e.report()))),
    }
    r.check(
        "empty input gives empty output",
        match reranker.rerank(&query, Vec::new()).await {
            Ok(out) => ensure(out.is_empty(), || {
                format!("{} hits from nothing", out.len())
            }),
            Err(e) => Err(format!("error: {}", e.report())),
        },
    );
    r
}
