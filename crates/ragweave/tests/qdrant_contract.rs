//! One suite, two backends: the embedded store and a real Qdrant server (the binary in
//! `../shared/qdrant`, started by the test). Here, in the facade, because it compares the two
//! plugins, which never depend on each other.
//!
//! The suite is the embedded store's contract: conformance, every search mode, filters,
//! bad input; BM25 and dense scores equal to the embedded store's for the same chunks; one
//! pipeline config for both stores, changed in its `[stores]` entry alone; and
//! `ragweave migrate`'s copy, whole, and resumed (through the fault proxy, which fails
//! chosen upserts in front of the real server).

mod fault_proxy;

use std::sync::Arc;

use ragweave::qdrant::{DenseSpec, HybridFusion, QdrantOptions, QdrantStore, SearchMode};
use ragweave::qdrant_edge::{EdgeStore, EdgeStoreOptions};
use ragweave::{
    Chunk, ChunkStore, EmbeddedChunk, Embedder, Error, Filter, HashingEmbedder, Hit, Query,
    Retriever,
};
use ragweave_testkit::qdrant::QdrantServer;
use serde_json::json;

const DIM: usize = 64;

fn embedder() -> Arc<dyn Embedder> {
    Arc::new(HashingEmbedder::new(DIM))
}

fn spec() -> DenseSpec {
    DenseSpec {
        model: embedder().model_id().to_string(),
        dimension: DIM,
    }
}

/// A store of one backend.
#[derive(Clone)]
enum Store {
    Edge(EdgeStore),
    Server(QdrantStore),
}

impl Store {
    fn chunks(&self) -> &dyn ChunkStore {
        match self {
            Store::Edge(s) => s,
            Store::Server(s) => s,
        }
    }

    fn retriever(&self, mode: SearchMode, fusion: HybridFusion) -> Arc<dyn Retriever> {
        match self {
            Store::Edge(s) => Arc::new(s.searcher(mode).fusion(fusion)),
            Store::Server(s) => Arc::new(s.searcher(mode).fusion(fusion)),
        }
    }
}

/// Where stores are made.
enum Backend {
    Edge(tempfile::TempDir),
    Server(QdrantServer),
}

impl Backend {
    fn label(&self) -> &'static str {
        match self {
            Backend::Edge(_) => "embedded store",
            Backend::Server(_) => "Qdrant server",
        }
    }

    async fn open(&self, name: &str, dense: bool) -> Store {
        match self {
            Backend::Edge(dir) => {
                let options = EdgeStoreOptions {
                    embedder: dense.then(embedder),
                    ..EdgeStoreOptions::default()
                };
                Store::Edge(EdgeStore::open(dir.path().join(name), options).unwrap())
            }
            Backend::Server(server) => {
                let mut o = QdrantOptions::at(server.url());
                o.embedder = dense.then(embedder);
                Store::Server(QdrantStore::connect(name, o).await.unwrap())
            }
        }
    }
}

async fn backends() -> Vec<Backend> {
    vec![
        Backend::Edge(tempfile::tempdir().unwrap()),
        Backend::Server(QdrantServer::start(None)),
    ]
}

async fn fill(store: &Store, with_vectors: bool) {
    let e = embedder();
    let chunks = ragweave_testkit::store::topic_corpus(with_vectors.then_some(e.as_ref())).await;
    store.chunks().upsert(chunks).await.unwrap();
}

async fn ids(r: &dyn Retriever, q: Query) -> Vec<String> {
    let mut ids: Vec<String> = r
        .retrieve(&q)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.chunk.id)
        .collect();
    ids.sort();
    ids
}

async fn suite(b: &Backend) {
    let label = b.label();
    eprintln!("running the store suite on the {label}");
    // Conformance, with and without dense vectors.
    let dense = b.open("conformance-dense", true).await;
    ragweave_testkit::store::check(dense.chunks(), Some(DIM))
        .await
        .assert_passed();
    let sparse = b.open("conformance-sparse", false).await;
    ragweave_testkit::store::check(sparse.chunks(), None)
        .await
        .assert_passed();

    // Every mode passes the retriever suite.
    let store = b.open("search", true).await;
    fill(&store, true).await;
    let queries = ["dense vectors", "Rust crates", "keyword search BM25"];
    for (mode, fusion) in [
        (SearchMode::Sparse, HybridFusion::Engine),
        (SearchMode::Dense, HybridFusion::Engine),
        (SearchMode::Hybrid, HybridFusion::Engine),
        (SearchMode::Hybrid, HybridFusion::Ragweave),
    ] {
        let r = store.retriever(mode, fusion);
        let report = ragweave_testkit::retriever::check(
            r.as_ref(),
            &queries,
            Some(Filter::eq("topic", "db")),
        )
        .await;
        assert!(
            report.failed.is_empty(),
            "{label} {mode:?}/{fusion:?}: {:?}",
            report.failed
        );
        let report = if mode == SearchMode::Hybrid {
            ragweave_testkit::retriever::check_declines_score_documents(r.as_ref(), &queries).await
        } else {
            let filter = Some(Filter::eq("topic", "db"));
            ragweave_testkit::retriever::check_score_documents(r.as_ref(), &queries, filter).await
        };
        assert!(
            report.failed.is_empty(),
            "{label} {mode:?}/{fusion:?} score_documents: {:?}",
            report.failed
        );
    }

    // Each mode finds what it should.
    let top = |mode, q: &'static str| {
        let r = store.retriever(mode, HybridFusion::Engine);
        async move { r.retrieve(&Query::new(q).top_k(3)).await.unwrap() }
    };
    assert_eq!(
        top(SearchMode::Sparse, "crate").await[0].chunk.id,
        "c2",
        "{label}: BM25 stems"
    );
    assert_eq!(
        top(SearchMode::Dense, "memory safety garbage collector").await[0]
            .chunk
            .id,
        "c1"
    );
    let hybrid = store.retriever(SearchMode::Hybrid, HybridFusion::Ragweave);
    let hits = hybrid
        .retrieve(&Query::new("HNSW graphs for dense vectors").top_k(3))
        .await
        .unwrap();
    assert_eq!(hits[0].chunk.id, "c3");
    assert_eq!(
        hits[0].retriever, "bm25+dense",
        "{label}: found by both sides"
    );
    assert_eq!(hits[0].chunk.metadata["topic"], "db");
    let engine = top(SearchMode::Hybrid, "HNSW graphs for dense vectors").await;
    assert_eq!(engine[0].chunk.id, "c3", "{label}: fused on the engine");
    assert!(
        top(SearchMode::Sparse, "the of and").await.is_empty(),
        "{label}: stopwords only"
    );

    // Filters.
    let r = store.retriever(SearchMode::Sparse, HybridFusion::Engine);
    let q = |f: Filter| {
        Query::new("vectors rust crates search rerankers memory")
            .top_k(10)
            .filter(f)
    };
    assert_eq!(
        ids(r.as_ref(), q(Filter::eq("topic", "rust"))).await,
        ["c1", "c2"],
        "{label}"
    );
    assert_eq!(
        ids(r.as_ref(), q(Filter::eq("year", 2023))).await,
        ["c3"],
        "{label}"
    );
    let in_ml_or_db = Filter::In {
        field: "topic".into(),
        values: vec![json!("ml"), json!("db")],
    };
    assert_eq!(
        ids(r.as_ref(), q(in_ml_or_db)).await,
        ["c3", "c4", "c5", "c6"],
        "{label}"
    );
    let not_db = Filter::Not(Box::new(Filter::eq("topic", "db")));
    assert_eq!(
        ids(r.as_ref(), q(not_db)).await,
        ["c1", "c2", "c5", "c6"],
        "{label}"
    );
    let and = Filter::And(vec![Filter::eq("topic", "ml"), Filter::eq("year", 2026)]);
    assert_eq!(ids(r.as_ref(), q(and)).await, ["c6"], "{label}");
    let none = Filter::In {
        field: "topic".into(),
        values: vec![],
    };
    assert!(ids(r.as_ref(), q(none)).await.is_empty(), "{label}");
    let e = r.retrieve(&q(Filter::eq("score", 0.5))).await.unwrap_err();
    assert!(
        matches!(&e, Error::InvalidInput { field, .. } if field == "query.filter.value"),
        "{label}: {e}"
    );

    // Bad vectors are typed errors and change nothing.
    let good = |id: &str| EmbeddedChunk {
        chunk: Chunk::new(id, "d", "text"),
        vector: Some(vec![1.0; DIM]),
    };
    let mut wrong = good("x2");
    wrong.vector = Some(vec![1.0; DIM - 1]);
    let e = store
        .chunks()
        .upsert(vec![good("x1"), wrong])
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::DimensionMismatch { field, expected: DIM, actual } if field == "chunks[1].vector" && *actual == DIM - 1),
        "{label}: {e}"
    );
    let mut nan = good("x2");
    nan.vector.as_mut().unwrap()[5] = f32::NAN;
    let e = store
        .chunks()
        .upsert(vec![good("x1"), nan])
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidInput { field, .. } if field == "chunks[1].vector[5]"),
        "{label}: {e}"
    );
    assert_eq!(store.chunks().count().await.unwrap(), 6, "{label}");
}

/// Fused results agree at the top. Below it, BM25 ties that the two engines order
/// differently inside a prefetch give the tied chunks different RRF ranks, so fused lists
/// are compared no further.
fn assert_same_fusion(want: &[Hit], got: &[Hit], what: &str) {
    assert_eq!(want.len(), got.len(), "{what}");
    assert!(
        (want[0].score - got[0].score).abs() < 1e-6,
        "{what}: top score"
    );
    let tied_at_top: Vec<_> = want
        .iter()
        .filter(|w| (w.score - want[0].score).abs() < 1e-6)
        .map(|w| &w.chunk)
        .collect();
    assert!(
        tied_at_top.contains(&&got[0].chunk),
        "{what}: top hit {:?}",
        got[0].chunk.id
    );
}

/// `got` ranks as `want` does: the same scores position by position, and the same chunk
/// wherever a score is not tied with a neighbour (engines may order equal scores either way).
fn assert_same_ranking(want: &[Hit], got: &[Hit], what: &str) {
    let ids = |h: &[Hit]| {
        h.iter()
            .map(|h| (h.chunk.id.clone(), h.score))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        want.len(),
        got.len(),
        "{what}: {:?} vs {:?}",
        ids(want),
        ids(got)
    );
    let tied = |i: usize, j: usize| (want[i].score - want[j].score).abs() < 1e-6;
    for (i, (w, g)) in want.iter().zip(got).enumerate() {
        assert!(
            (w.score - g.score).abs() < 1e-4,
            "{what}: score at {i}: {:?} vs {:?}",
            ids(want),
            ids(got)
        );
        let tied_before = i > 0 && tied(i, i - 1);
        let tied_after = i + 1 < want.len() && tied(i, i + 1);
        let alone = !(tied_before || tied_after);
        if alone {
            assert_eq!(w.chunk, g.chunk, "{what}: chunk at {i}");
        }
    }
}

#[tokio::test]
async fn every_backend_passes_the_store_suite() {
    for b in backends().await {
        suite(&b).await;
    }
}

#[tokio::test]
async fn bm25_and_dense_scores_match_the_embedded_store() {
    let all = backends().await;
    let reference = all[0].open("scores", true).await;
    fill(&reference, true).await;
    for b in &all[1..] {
        let store = b.open("scores", true).await;
        fill(&store, true).await;
        for (mode, q) in [
            (SearchMode::Sparse, "dense vectors for keyword search"),
            (SearchMode::Dense, "dense vectors for keyword search"),
            (SearchMode::Hybrid, "Rust crates and HNSW graphs"),
        ] {
            let query = Query::new(q).top_k(6);
            let want = reference
                .retriever(mode, HybridFusion::Engine)
                .retrieve(&query)
                .await
                .unwrap();
            let got = store
                .retriever(mode, HybridFusion::Engine)
                .retrieve(&query)
                .await
                .unwrap();
            let what = format!("{} {mode:?}", b.label());
            if mode == SearchMode::Hybrid {
                assert_same_fusion(&want, &got, &what);
            } else {
                assert_same_ranking(&want, &got, &what);
            }
        }
    }
}

// ---- migration (`ragweave migrate`) and one config for both stores ----

use ragweave::migrate::migrate;
use ragweave::qdrant::RetryPolicy;
use std::time::Duration;
use tonic::Code;

fn fast_retry(attempts: u32) -> RetryPolicy {
    RetryPolicy {
        attempts,
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(400),
    }
}

fn options(url: String) -> QdrantOptions {
    let mut o = QdrantOptions::at(url);
    o.retry = fast_retry(30);
    o
}

/// `n` chunks over `n / 10` documents, with metadata.
fn chunks(n: usize) -> Vec<EmbeddedChunk> {
    (0..n)
        .map(|i| EmbeddedChunk {
            chunk: Chunk::new(
                format!("chunk-{i}"),
                format!("doc-{}", i / 10),
                format!("passage {i} about river {}", i % 7),
            )
            .with_meta("n", i as i64),
            vector: None,
        })
        .collect()
}

async fn edge_store(dir: &std::path::Path, n: usize) -> EdgeStore {
    let store = EdgeStore::open(
        dir,
        EdgeStoreOptions {
            bm25_avg_len: Some(12.0),
            embedder: Some(embedder()),
        },
    )
    .unwrap();
    let embedder = HashingEmbedder::new(DIM);
    let mut all = chunks(n);
    let texts: Vec<String> = all.iter().map(|c| c.chunk.text.clone()).collect();
    let vectors = embedder
        .embed(&texts, ragweave::EmbedInput::DOCUMENT)
        .await
        .unwrap();
    for (c, v) in all.iter_mut().zip(vectors) {
        c.vector = Some(v);
    }
    store.upsert(all).await.unwrap();
    store
}

#[tokio::test]
async fn migration_copies_everything_and_searches_alike() {
    let dir = tempfile::tempdir().unwrap();
    let from = edge_store(dir.path(), 600).await;
    let s = QdrantServer::start(None);
    let report = migrate(&from, "docs", options(s.url()), 128, None)
        .await
        .unwrap();
    assert_eq!((report.copied, report.resumed_after), (600, 0));
    assert_eq!((report.source_count, report.target_count), (600, 600));
    assert!(
        !dir.path().join("ragweave-migrate-docs.json").exists(),
        "checkpoint removed"
    );

    let to = QdrantStore::connect("docs", options(s.url()))
        .await
        .unwrap();
    assert_eq!(to.dense(), Some(&spec()), "dense spec carried over");
    assert_eq!(to.bm25_avg_len(), 12.0, "BM25 length carried over");
    let embedder: Arc<dyn Embedder> = Arc::new(HashingEmbedder::new(DIM));
    for mode in [SearchMode::Sparse, SearchMode::Dense, SearchMode::Hybrid] {
        let q = Query::new("passage about river 3").top_k(10);
        let a = from.searcher(mode).retrieve(&q).await.unwrap();
        let b = to
            .searcher(mode)
            .fusion(HybridFusion::Engine)
            .with_embedder(embedder.clone())
            .unwrap()
            .retrieve(&q)
            .await
            .unwrap();
        if mode == SearchMode::Hybrid {
            assert_same_fusion(&a, &b, "hybrid");
        } else {
            assert_same_ranking(&a, &b, &format!("{mode:?}"));
        }
        // Every hit carries the stored chunk whole: text and metadata.
        let stored = from
            .get(&b.iter().map(|h| h.chunk.id.clone()).collect::<Vec<_>>())
            .await
            .unwrap();
        assert_eq!(
            stored,
            b.iter().map(|h| h.chunk.clone()).collect::<Vec<_>>()
        );
    }

    // Into a collection that holds points but no checkpoint: refused.
    let e = migrate(&from, "docs", options(s.url()), 256, None)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("already holds 600 chunks"), "{e}");
}

#[tokio::test]
async fn an_interrupted_migration_resumes_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let from = edge_store(dir.path(), 500).await;
    let server = QdrantServer::start(None);
    let s = fault_proxy::FaultProxy::start(&server.url()).await;
    let mut impatient = options(s.url());
    impatient.retry = fast_retry(2);
    // Two batches land, then the server is unavailable past the retry policy.
    s.pass_upserts(2);
    // Four: qdrant-client resends once on UNAVAILABLE, inside each of the two attempts.
    s.fail_upserts(&[Code::Unavailable; 4]);
    let e = migrate(&from, "docs", impatient, 100, None)
        .await
        .unwrap_err();
    assert!(e.is_transient(), "{e}");
    let checkpoint = dir.path().join("ragweave-migrate-docs.json");
    assert!(checkpoint.exists(), "progress recorded");
    let report = migrate(&from, "docs", options(s.url()), 100, None)
        .await
        .unwrap();
    assert_eq!(
        (report.resumed_after, report.copied),
        (200, 300),
        "{report:?}"
    );
    assert_eq!(report.target_count, 500, "no duplicates, nothing lost");
    assert!(!checkpoint.exists());
}

#[tokio::test]
async fn one_pipeline_config_moves_to_the_server_by_its_kind() {
    let dir = tempfile::tempdir().unwrap();
    let from = edge_store(&dir.path().join("store"), 200).await;
    let s = QdrantServer::start(None);
    migrate(&from, "docs", options(s.url()), 256, None)
        .await
        .unwrap();
    drop(from);
    let registry = ragweave::registry();
    let config = |location: &str| {
        format!(
            "[embedders.h]\nkind = \"hashing\"\ndimension = {DIM}\n\n\
             [stores.docs]\n{location}\nembedder = \"h\"\n\n\
             [experts.docs]\nkind = \"store\"\nstore = \"docs\"\nmode = \"dense\"\n"
        )
    };
    let mut answers = Vec::new();
    for location in [
        "kind = \"qdrant_edge\"\npath = \"store\"".to_string(),
        format!(
            "kind = \"qdrant\"\nurl = \"{}\"\ncollection = \"docs\"",
            s.url()
        ),
    ] {
        let config = ragweave::config::PipelineConfig::from_toml_str(&config(&location)).unwrap();
        let Ok(pipeline) = config.build(&registry, dir.path()).await else {
            panic!("{location}: did not build");
        };
        let hits = pipeline.retrieve("passage about river 5").await.unwrap();
        assert!(!hits.is_empty());
        answers.push(hits);
    }
    assert_same_ranking(&answers[0], &answers[1], "same hits from either store");
}

/// Three Qdrant peers in distributed mode, a collection of 3 shards with 2 replicas each;
/// one peer is killed part-way through the ingestion and started again. The ingestion
/// completes, the count is exact, no chunk is there twice, and dense search answers as the
/// embedded store does on the same chunks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_losing_a_peer_mid_ingestion_keeps_every_chunk_once() {
    let n = 600;
    let dir = tempfile::tempdir().unwrap();
    let edge = edge_store(dir.path(), n).await;
    let mut peers = QdrantServer::start_cluster(3);
    let mut o = options(peers[0].url()).embedder(embedder());
    o.cluster.shard_number = Some(3);
    o.cluster.replication_factor = Some(2);
    o.cluster.write_consistency_factor = Some(1);
    let remote = QdrantStore::connect("spread", o).await.unwrap();
    let mut all = chunks(n);
    let vectors = embedder()
        .embed(
            &all.iter().map(|c| c.chunk.text.clone()).collect::<Vec<_>>(),
            ragweave::EmbedInput::DOCUMENT,
        )
        .await
        .unwrap();
    for (c, v) in all.iter_mut().zip(vectors) {
        c.vector = Some(v);
    }
    for (b, batch) in all.chunks(50).enumerate() {
        match b {
            3 => peers[2].kill(),
            8 => peers[2].restart(),
            _ => {}
        }
        remote.upsert(batch.to_vec()).await.unwrap();
    }
    // The peer that came back catches up; every count then is exact.
    assert_eq!(remote.count().await.unwrap(), n);
    let mut ids = Vec::new();
    let mut from = None;
    loop {
        let page = remote.export(from.as_deref(), 128).await.unwrap();
        ids.extend(page.chunks.into_iter().map(|c| c.chunk.id));
        match page.next {
            Some(next) => from = Some(next),
            None => break,
        }
    }
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!((ids.len(), unique.len()), (n, n), "no chunk twice");
    for q in ["river 3", "passage 42 about river 0", "river"] {
        let query = Query::new(q).top_k(10);
        let want = edge
            .searcher(SearchMode::Dense)
            .retrieve(&query)
            .await
            .unwrap();
        let got = remote
            .searcher(SearchMode::Dense)
            .retrieve(&query)
            .await
            .unwrap();
        assert_same_ranking(&want, &got, &format!("dense {q:?} on the cluster"));
    }
}
