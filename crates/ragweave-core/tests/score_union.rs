//! `[fusion] score_union`: each expert scores the candidates only the others found, with
//! core's own BM25 and dense retrievers.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use ragweave_core::{
    Bm25Index, Bm25Params, Chunk, DenseRetriever, Error, ExpertFailure, FuseBy, Fusion,
    FusionMethod, HashingEmbedder, Hit, InMemoryStore, Pipeline, Query, Result, Retriever,
};

/// Documents of two passages each, worded so that BM25 and the hashed vectors disagree.
fn chunks() -> Vec<Chunk> {
    let texts = [
        "rivers carry water to the sea",
        "water water water everywhere",
        "the sea is salt water",
        "mountains make rivers",
        "rain falls on the hills",
        "hills and rivers and water in the valley",
        "a boat on the sea",
        "fish swim in rivers and seas",
        "deserts have little water",
        "clouds bring rain to rivers",
    ];
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| Chunk::new(format!("c{i}"), format!("d{}", i / 2), *t))
        .collect()
}

async fn experts() -> (Arc<Bm25Index>, Arc<DenseRetriever>) {
    let bm25 = Bm25Index::new(Bm25Params::default());
    bm25.insert(chunks()).unwrap();
    let dense = DenseRetriever::new(
        Arc::new(HashingEmbedder::new(32)),
        Arc::new(InMemoryStore::new(32)),
    )
    .unwrap();
    dense.index(chunks()).await.unwrap();
    (Arc::new(bm25), Arc::new(dense))
}

fn fusion(score_union: bool) -> Fusion {
    Fusion {
        method: FusionMethod::Score,
        by: FuseBy::Document,
        score_union,
        ..Fusion::default()
    }
}

fn pipeline(
    bm25: Arc<dyn Retriever>,
    dense: Arc<dyn Retriever>,
    score_union: bool,
    on_failure: ExpertFailure,
) -> Pipeline {
    Pipeline::builder()
        .expert("bm25", bm25)
        .expert("dense", dense)
        .fusion(fusion(score_union))
        .candidates(TOP_K)
        .expert_failure(on_failure)
        .build()
        .unwrap()
}

fn documents(hits: &[Hit]) -> BTreeSet<String> {
    hits.iter().map(|h| h.chunk.document_id.clone()).collect()
}

const QUESTION: &str = "rain rivers";

/// Results asked for, and the depth each expert searches: small enough that the experts'
/// lists differ.
const TOP_K: usize = 2;

#[tokio::test]
async fn every_candidate_is_scored_by_both_experts() {
    let (bm25, dense) = experts().await;
    let deep = Query::new(QUESTION).top_k(TOP_K);
    let (bm25_top, dense_top) = (
        documents(&bm25.retrieve(&deep).await.unwrap()),
        documents(&dense.retrieve(&deep).await.unwrap()),
    );
    assert_ne!(
        bm25_top, dense_top,
        "the data must make the experts disagree"
    );
    let union: BTreeSet<String> = bm25_top.union(&dense_top).cloned().collect();

    let request = Query::new(QUESTION).top_k(TOP_K);
    let both = |hits: &[Hit]| hits.iter().filter(|h| h.retriever.contains('+')).count();
    let (plain, _) = pipeline(bm25.clone(), dense.clone(), false, ExpertFailure::Skip)
        .retrieve_traced(request.clone())
        .await
        .unwrap();
    let (scored, trace) = pipeline(bm25, dense, true, ExpertFailure::Skip)
        .retrieve_traced(request)
        .await
        .unwrap();

    assert!(documents(&plain).is_subset(&union));
    assert!(documents(&scored).is_subset(&union));
    assert_eq!(scored.len(), TOP_K);
    // Each candidate shares a word with the question in both experts' eyes, so each is
    // scored by both: every fused hit has both parts.
    assert_eq!(both(&scored), scored.len(), "{scored:#?}");
    assert!(
        both(&plain) < plain.len(),
        "without it some hit lacks a part"
    );
    let stage = trace
        .stages
        .iter()
        .find(|s| s.name == "score_union")
        .expect("a score_union stage");
    assert!(
        stage
            .notes
            .iter()
            .filter(|n| n.ends_with("1 of 1 scored"))
            .count()
            == 2,
        "{:?}",
        stage.notes
    );
}

/// Retrieves as the inner retriever does and fails to score chosen documents.
struct CannotScore(Arc<dyn Retriever>);

#[async_trait]
impl Retriever for CannotScore {
    fn name(&self) -> &str {
        "cannot-score"
    }

    async fn retrieve(&self, query: &Query) -> Result<Vec<Hit>> {
        self.0.retrieve(query).await
    }

    async fn score_documents(&self, _: &Query, _: &[String]) -> Result<Option<Vec<Hit>>> {
        Err(Error::component("cannot-score", "scoring is broken"))
    }
}

#[tokio::test]
async fn a_failing_scorer_is_skipped_or_fatal_as_the_policy_says() {
    let (bm25, dense) = experts().await;
    let broken: Arc<dyn Retriever> = Arc::new(CannotScore(dense));
    let request = Query::new(QUESTION).top_k(TOP_K);
    let (hits, trace) = pipeline(bm25.clone(), broken.clone(), true, ExpertFailure::Skip)
        .retrieve_traced(request.clone())
        .await
        .unwrap();
    assert!(!hits.is_empty());
    let notes = &trace
        .stages
        .iter()
        .find(|s| s.name == "score_union")
        .unwrap()
        .notes;
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("dense: failed") && n.contains("scoring is broken")),
        "{notes:?}"
    );
    let err = pipeline(bm25, broken, true, ExpertFailure::Fail)
        .retrieve(request)
        .await
        .unwrap_err();
    assert!(
        err.report().to_string().contains("scoring is broken"),
        "{}",
        err.report()
    );
}

#[tokio::test]
async fn score_union_needs_fusion_by_document() {
    let (bm25, dense) = experts().await;
    let err = Pipeline::builder()
        .expert("bm25", bm25)
        .expert("dense", dense)
        .fusion(Fusion {
            by: FuseBy::Chunk,
            ..fusion(true)
        })
        .build()
        .err()
        .expect("a config error");
    assert!(
        matches!(&err, Error::Config { path, .. } if path == "fusion.score_union"),
        "{err:?}"
    );
}
