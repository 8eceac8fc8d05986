//! Core's own components pass the testkit suites, and the suites catch broken components.

use std::sync::Arc;

use async_trait::async_trait;
use ragweave_core::{
    Bm25Index, Bm25Params, Chunk, DenseRetriever, EmbedInput, Embedder, Filter, GenerateRequest,
    Generator, HashingEmbedder, Hit, InMemoryStore, Query, Result, Retriever, TokenStream,
    WindowMemory,
};
use ragweave_testkit::fixtures::{PassThroughReranker, ScriptedGenerator};
use ragweave_testkit::{embedder, generator, memory, reranker, retriever, store};

fn chunks() -> Vec<Chunk> {
    (0..20)
        .map(|i| {
            Chunk::new(
                format!("c{i}"),
                format!("d{}", i % 4),
                format!("passage {i} about topic {}", i % 3),
            )
            .with_meta("parity", if i % 2 == 0 { "even" } else { "odd" })
        })
        .collect()
}

async fn dense() -> DenseRetriever {
    let e = Arc::new(HashingEmbedder::new(128));
    let r = DenseRetriever::new(e, Arc::new(InMemoryStore::new(128))).unwrap();
    r.index(chunks()).await.unwrap();
    r
}

#[tokio::test]
async fn core_components_pass() {
    embedder::check(&HashingEmbedder::new(64))
        .await
        .assert_passed();
    retriever::check(
        &dense().await,
        &["topic 1", "passage 7"],
        Some(Filter::eq("parity", "even")),
    )
    .await
    .assert_passed();
    retriever::check_score_documents(
        &dense().await,
        &["topic 1", "passage 7"],
        Some(Filter::eq("parity", "even")),
    )
    .await
    .assert_passed();
    store::check(&InMemoryStore::new(16), Some(16))
        .await
        .assert_passed();
    store::check(&Bm25Index::new(Bm25Params::default()), None)
        .await
        .assert_passed();
    let bm25 = Bm25Index::new(Bm25Params::default());
    bm25.insert(chunks()).unwrap();
    retriever::check(
        &bm25,
        &["topic 1", "passage 7"],
        Some(Filter::eq("parity", "even")),
    )
    .await
    .assert_passed();
    retriever::check_score_documents(
        &bm25,
        &["topic 1", "passage 7"],
        Some(Filter::eq("parity", "even")),
    )
    .await
    .assert_passed();
    memory::check(&WindowMemory::new(100)).await.assert_passed();
    reranker::check(&PassThroughReranker).await.assert_passed();
    generator::check(&ScriptedGenerator::new(
        "rivers carry water from the hills to the sea",
    ))
    .await
    .assert_passed();
}

/// Returns vectors one entry short.
struct ShortEmbedder;

#[async_trait]
impl Embedder for ShortEmbedder {
    fn name(&self) -> &str {
        "short-embedder"
    }

    fn model_id(&self) -> &str {
        "short"
    }
    fn dimension(&self) -> usize {
        8
    }
    async fn embed(&self, texts: &[String], _input: EmbedInput<'_>) -> Result<Vec<Vec<f32>>> {
        Ok(texts.iter().map(|t| vec![t.len() as f32; 7]).collect())
    }
}

/// Ignores top_k and returns hits unsorted, for any query.
struct SloppyRetriever;

#[async_trait]
impl Retriever for SloppyRetriever {
    fn name(&self) -> &str {
        "sloppy-retriever"
    }

    async fn retrieve(&self, _query: &Query) -> Result<Vec<Hit>> {
        Ok((0..5)
            .map(|i| Hit::new(Chunk::new(format!("c{i}"), "d", "t"), i as f32, "s"))
            .collect())
    }
}

/// Ignores max_tokens and stop sequences.
struct RunawayGenerator;

#[async_trait]
impl Generator for RunawayGenerator {
    fn name(&self) -> &str {
        "runaway-generator"
    }

    async fn stream(&self, _request: &GenerateRequest) -> Result<TokenStream> {
        let words =
            "one two three four five six seven eight nine ten eleven twelve thirteen fourteen";
        let pieces: Vec<Result<String>> = words.split(' ').map(|w| Ok(format!("{w} "))).collect();
        Ok(Box::pin(futures::stream::iter(pieces)))
    }
}

/// Drops the last vector of every batch.
struct ForgetfulEmbedder;

#[async_trait]
impl Embedder for ForgetfulEmbedder {
    fn name(&self) -> &str {
        "forgetful-embedder"
    }

    fn model_id(&self) -> &str {
        "forgetful"
    }
    fn dimension(&self) -> usize {
        4
    }
    async fn embed(&self, texts: &[String], _input: EmbedInput<'_>) -> Result<Vec<Vec<f32>>> {
        Ok(texts.iter().skip(1).map(|_| vec![0.5; 4]).collect())
    }
}

#[tokio::test]
async fn an_embedder_breaking_its_contract_is_an_error_not_a_panic() {
    let dense =
        DenseRetriever::new(Arc::new(ForgetfulEmbedder), Arc::new(InMemoryStore::new(4))).unwrap();
    let err = dense.index(chunks()).await.unwrap_err();
    assert!(
        err.report()
            .to_string()
            .contains("returned 19 vectors for 20 texts"),
        "{err}"
    );
    let queries = vec![ragweave_core::LabelledQuery {
        text: "q".into(),
        relevant: [("d0".to_string(), 1.0)].into(),
    }];
    let experts: Vec<(String, Arc<dyn Retriever>)> = vec![("d".into(), Arc::new(dense))];
    let fit =
        ragweave_core::fit_pilots(&ForgetfulEmbedder, &experts, &queries, &Default::default())
            .await;
    assert!(fit.is_err());
}

#[tokio::test]
async fn suites_catch_broken_components() {
    let r = embedder::check(&ShortEmbedder).await;
    assert!(r.failed("vectors have dimension() entries"), "{r:?}");
    assert!(r.failed("blank text is an InvalidInput error"), "{r:?}");

    let r = retriever::check(&SloppyRetriever, &["q"], None).await;
    assert!(r.failed("top_k 1: sorted, unique, bounded"), "{r:?}");
    assert!(r.failed("empty query is an InvalidInput error"), "{r:?}");

    let r = generator::check(&RunawayGenerator).await;
    assert!(r.failed("stops at max_tokens"), "{r:?}");
    assert!(r.failed("honours stop sequences"), "{r:?}");
    assert!(r.failed("max_tokens 0 is an InvalidInput error"), "{r:?}");

    let panicked = std::panic::catch_unwind(|| r.assert_passed()).unwrap_err();
    let msg = panicked.downcast_ref::<String>().unwrap();
    assert!(
        msg.contains("generator conformance") && msg.contains("stops at max_tokens"),
        "{msg}"
    );
}

#[tokio::test]
async fn in_memory_stores_pass_the_store_suite() {
    let embedder: Arc<dyn Embedder> = Arc::new(ragweave_core::HashingEmbedder::new(8));
    ragweave_testkit::store::check(&InMemoryStore::new(8), Some(8))
        .await
        .assert_passed();
    ragweave_testkit::store::check(&InMemoryStore::for_embedder(embedder), Some(8))
        .await
        .assert_passed();
    ragweave_testkit::store::check(&InMemoryStore::text_only(), None)
        .await
        .assert_passed();
    let bm25 = ragweave_core::Bm25Index::new(Default::default());
    ragweave_testkit::store::check(&bm25, None)
        .await
        .assert_passed();
}
