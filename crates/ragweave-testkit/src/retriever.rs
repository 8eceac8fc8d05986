//! Conformance of a [`Retriever`].

use std::collections::HashSet;

use ragweave_core::{Error, Filter, Hit, Query, Retriever};

use crate::{Report, ensure};

fn well_formed(hits: &[Hit], top_k: usize) -> Result<(), String> {
    ensure(hits.len() <= top_k, || {
        format!("{} hits for top_k {top_k}", hits.len())
    })?;
    if let Some(i) = hits.iter().position(|h| !h.score.is_finite()) {
        return Err(format!("hit {i} has score {}", hits[i].score));
    }
    if let Some(i) = hits.windows(2).position(|w| w[0].score < w[1].score) {
        return Err(format!(
            "not sorted: hit {i} scores {} < hit {} scores {}",
            hits[i].score,
            i + 1,
            hits[i + 1].score
        ));
    }
    let mut seen = HashSet::new();
    if let Some(h) = hits.iter().find(|h| !seen.insert(h.chunk.id.as_str())) {
        return Err(format!("chunk {} returned twice", h.chunk.id));
    }
    Ok(())
}

/// Checks, for `queries` that should match the retriever's data: hits sorted by descending
/// finite score, no chunk twice, `top_k` honoured (1, 3 and 10, the best hit of top_k = 1
/// among those of top_k = 3), at least one query finds something, and an empty query or
/// `top_k = 0` is an `InvalidInput` error. With `filter`, every hit of the first query
/// satisfies it.
pub async fn check(retriever: &dyn Retriever, queries: &[&str], filter: Option<Filter>) -> Report {
    let mut r = Report::new("retriever");
    let mut any_hits = false;
    for k in [1usize, 3, 10] {
        let mut outcome = Ok(());
        for q in queries {
            match retriever.retrieve(&Query::new(*q).top_k(k)).await {
                Ok(hits) => {
                    any_hits |= !hits.is_empty();
                    if let Err(e) = well_formed(&hits, k) {
                        outcome = Err(format!("query {q:?}, top_k {k}: {e}"));
                        break;
                    }
                }
                Err(e) => {
                    outcome = Err(format!("query {q:?}, top_k {k}: error {}", e.report()));
                    break;
                }
            }
        }
        r.check(
            match k {
                1 => "top_k 1: sorted, unique, bounded",
                3 => "top_k 3: sorted, unique, bounded",
                _ => "top_k 10: sorted, unique, bounded",
            },
            outcome,
        );
    }
    r.check(
        "some query finds hits",
        ensure(any_hits, || "every query returned nothing".into()),
    );
    if let Some(q) = queries.first() {
        let one = retriever.retrieve(&Query::new(*q).top_k(1)).await;
        let three = retriever.retrieve(&Query::new(*q).top_k(3)).await;
        r.check(
            "top_k 1 is the best of top_k 3",
            match (one, three) {
                (Ok(one), Ok(three)) => ensure(
                    one.first()
                        .is_none_or(|h| three.iter().any(|t| t.chunk.id == h.chunk.id)),
                    || "the single best hit is missing from the top 3".into(),
                ),
                _ => Err("retrieval failed".into()),
            },
        );
        if let Some(filter) = filter {
            r.check(
                "filter is honoured",
                match retriever
                    .retrieve(&Query::new(*q).top_k(10).filter(filter.clone()))
                    .await
                {
                    Ok(hits) => match hits.iter().find(|h| !filter.matches(&h.chunk.metadata)) {
                        Some(h) => Err(format!("chunk {} does not match the filter", h.chunk.id)),
                        None => Ok(()),
                    },
                    Err(e) => Err(format!("error: {}", e.report())),
                },
            );
        }
    }
    for (name, query) in [
        ("empty query is an InvalidInput error", Query::new("")),
        (
            "top_k 0 is an InvalidInput error",
            Query::new("anything").top_k(0),
        ),
    ] {
        r.check(
            name,
            match retriever.retrieve(&query).await {
                Err(Error::InvalidInput { .. }) => Ok(()),
                Err(other) => Err(format!("wrong error type: {other:?}")),
                Ok(hits) => Err(format!("answered with {} hits", hits.len())),
            },
        );
    }
    r
}

/// The first of `queries` that finds something, with its top 10.
async fn first_found<'q>(
    retriever: &dyn Retriever,
    queries: &[&'q str],
) -> Option<(&'q str, Vec<Hit>)> {
    for q in queries {
        if let Ok(hits) = retriever.retrieve(&Query::new(*q).top_k(10)).await
            && !hits.is_empty()
        {
            return Some((*q, hits));
        }
    }
    None
}

/// A document id no test store holds.
const UNKNOWN_DOCUMENT: &str = "ragweave-testkit-no-such-document";

/// Checks [`Retriever::score_documents`] against [`Retriever::retrieve`], for the first of
/// `queries` that finds something: it is offered (`Some`); it scores each asked document
/// that `retrieve` finds at that document's best score there, however deep it ranks
/// (`top_k` does not apply); at most one hit per document, only asked documents, sorted by
/// descending finite score; an unknown document and an empty set give nothing; an empty
/// query is an `InvalidInput` error. With `filter`, every hit satisfies it.
pub async fn check_score_documents(
    retriever: &dyn Retriever,
    queries: &[&str],
    filter: Option<Filter>,
) -> Report {
    let mut r = Report::new("retriever.score_documents");
    let Some((q, hits)) = first_found(retriever, queries).await else {
        r.check(
            "some query finds hits",
            Err("every query returned nothing".into()),
        );
        return r;
    };
    let mut documents: Vec<String> = Vec::new();
    for h in &hits {
        if !documents.contains(&h.chunk.document_id) {
            documents.push(h.chunk.document_id.clone());
        }
    }
    documents.push(UNKNOWN_DOCUMENT.into());
    let query = Query::new(q).top_k(1);
    let scored = match retriever.score_documents(&query, &documents).await {
        Ok(Some(scored)) => scored,
        Ok(None) => {
            r.check("offered", Err("score_documents returned None".into()));
            return r;
        }
        Err(e) => {
            r.check("offered", Err(format!("error {}", e.report())));
            return r;
        }
    };
    r.check("offered", Ok(()));
    r.check(
        "sorted, finite, one hit per asked document",
        well_formed(&scored, documents.len()).and_then(|()| {
            let mut seen = HashSet::new();
            match scored.iter().find(|h| {
                !documents.contains(&h.chunk.document_id) || !seen.insert(&h.chunk.document_id)
            }) {
                Some(h) => Err(format!(
                    "document {} not asked for, or twice",
                    h.chunk.document_id
                )),
                None => Ok(()),
            }
        }),
    );
    r.check(
        "each document at its best score in retrieve, however deep",
        documents[..documents.len() - 1].iter().try_for_each(|d| {
            let best = hits
                .iter()
                .filter(|h| &h.chunk.document_id == d)
                .map(|h| h.score)
                .fold(f32::NEG_INFINITY, f32::max);
            match scored.iter().find(|h| &h.chunk.document_id == d) {
                Some(h) if (h.score - best).abs() <= 1e-5 + 1e-4 * best.abs() => Ok(()),
                Some(h) => Err(format!(
                    "document {d}: {} here, {best} in retrieve",
                    h.score
                )),
                None => Err(format!(
                    "document {d} is not scored (retrieve scores it {best})"
                )),
            }
        }),
    );
    r.check(
        "an unknown document and an empty set give nothing",
        match retriever.score_documents(&query, &[]).await {
            Ok(Some(none)) if none.is_empty() => ensure(
                !scored
                    .iter()
                    .any(|h| h.chunk.document_id == UNKNOWN_DOCUMENT),
                || "the unknown document was scored".into(),
            ),
            Ok(other) => Err(format!("the empty set gave {other:?}")),
            Err(e) => Err(format!("the empty set: error {}", e.report())),
        },
    );
    if let Some(filter) = filter {
        r.check(
            "filter is honoured",
            match retriever
                .score_documents(&query.clone().filter(filter.clone()), &documents)
                .await
            {
                Ok(Some(hits)) => match hits.iter().find(|h| !filter.matches(&h.chunk.metadata)) {
                    Some(h) => Err(format!("chunk {} does not match the filter", h.chunk.id)),
                    None => Ok(()),
                },
                Ok(None) => Err("None with a filter".into()),
                Err(e) => Err(format!("error: {}", e.report())),
            },
        );
    }
    r.check(
        "empty query is an InvalidInput error",
        match retriever.score_documents(&Query::new(""), &documents).await {
            Err(Error::InvalidInput { .. }) => Ok(()),
            Err(other) => Err(format!("wrong error type: {other:?}")),
            Ok(hits) => Err(format!("answered with {hits:?}")),
        },
    );
    r
}

/// Checks that a retriever which cannot score chosen documents (a store's hybrid search,
/// whose fused ranks mean nothing outside its own list) says so: asked for the documents
/// the first of `queries` that finds something retrieves, it answers `None`, not an error
/// or an empty list.
pub async fn check_declines_score_documents(retriever: &dyn Retriever, queries: &[&str]) -> Report {
    let mut r = Report::new("retriever.score_documents declined");
    let Some((q, hits)) = first_found(retriever, queries).await else {
        r.check(
            "some query finds hits",
            Err("every query returned nothing".into()),
        );
        return r;
    };
    let documents: Vec<String> = hits.into_iter().map(|h| h.chunk.document_id).collect();
    r.check(
        "answers None",
        match retriever.score_documents(&Query::new(q), &documents).await {
            Ok(None) => Ok(()),
            Ok(Some(hits)) => Err(format!("scored {} hits", hits.len())),
            Err(e) => Err(format!("error {}", e.report())),
        },
    );
    r
}
