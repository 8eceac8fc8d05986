//! The Qdrant Edge store on real disk: conformance, persistence, modes, filters, bad input.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;

use ragweave_core::{Chunk, ChunkStore, EmbeddedChunk, Error, Filter, HashingEmbedder, Query};
use ragweave_core::{Embedder, Retriever};
use ragweave_qdrant_edge::{
    DEFAULT_BM25_AVG_LEN, EdgeStore, EdgeStoreError, EdgeStoreOptions, HybridFusion, SearchMode,
};
use serde_json::json;

const DIM: usize = 64;

fn embedder() -> Arc<dyn Embedder> {
    Arc::new(HashingEmbedder::new(DIM))
}

fn dense_options() -> EdgeStoreOptions {
    EdgeStoreOptions::with_embedder(embedder())
}

async fn fill(store: &EdgeStore, with_vectors: bool) {
    let e = embedder();
    let chunks = ragweave_testkit::store::topic_corpus(with_vectors.then_some(e.as_ref())).await;
    store.upsert(chunks).await.unwrap();
}

#[tokio::test]
async fn passes_the_store_suite_with_and_without_dense_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let store = EdgeStore::open(dir.path().join("dense"), dense_options()).unwrap();
    ragweave_testkit::store::check(&store, Some(DIM))
        .await
        .assert_passed();
    let sparse = EdgeStore::open(dir.path().join("sparse"), EdgeStoreOptions::default()).unwrap();
    ragweave_testkit::store::check(&sparse, None)
        .await
        .assert_passed();
}

#[tokio::test]
async fn passes_the_retriever_suite_in_every_mode() {
    let dir = tempfile::tempdir().unwrap();
    let store = EdgeStore::open(dir.path(), dense_options()).unwrap();
    fill(&store, true).await;
    let queries = ["dense vectors", "Rust crates", "keyword search BM25"];
    let filter = Some(Filter::eq("topic", "db"));
    for (mode, fusion) in [
        (SearchMode::Sparse, HybridFusion::Engine),
        (SearchMode::Dense, HybridFusion::Engine),
        (SearchMode::Hybrid, HybridFusion::Engine),
        (SearchMode::Hybrid, HybridFusion::Ragweave),
    ] {
        let r = store
            .searcher(mode)
            .fusion(fusion)
            .with_embedder(embedder())
            .unwrap();
        let report = ragweave_testkit::retriever::check(&r, &queries, filter.clone()).await;
        assert!(
            report.failed.is_empty(),
            "{mode:?}/{fusion:?}: {:?}",
            report.failed
        );
        let report = if mode == SearchMode::Hybrid {
            ragweave_testkit::retriever::check_declines_score_documents(&r, &queries).await
        } else {
            ragweave_testkit::retriever::check_score_documents(&r, &queries, filter.clone()).await
        };
        assert!(
            report.failed.is_empty(),
            "{mode:?}/{fusion:?}: {:?}",
            report.failed
        );
    }
}

#[tokio::test]
async fn each_mode_finds_what_it_should() {
    let dir = tempfile::tempdir().unwrap();
    let store = EdgeStore::open(dir.path(), dense_options()).unwrap();
    fill(&store, true).await;
    let top = |mode, q: &'static str| {
        let r = store.searcher(mode).with_embedder(embedder()).unwrap();
        async move { r.retrieve(&Query::new(q).top_k(3)).await.unwrap() }
    };
    // BM25 stems: "crate" matches "crates".
    assert_eq!(top(SearchMode::Sparse, "crate").await[0].chunk.id, "c2");
    assert_eq!(
        top(SearchMode::Dense, "memory safety garbage collector").await[0]
            .chunk
            .id,
        "c1"
    );
    let hybrid = store
        .searcher(SearchMode::Hybrid)
        .fusion(HybridFusion::Ragweave)
        .with_embedder(embedder())
        .unwrap();
    let hits = hybrid
        .retrieve(&Query::new("HNSW graphs for dense vectors").top_k(3))
        .await
        .unwrap();
    assert_eq!(hits[0].chunk.id, "c3");
    assert_eq!(hits[0].retriever, "bm25+dense", "found by both sides");
    assert_eq!(hits[0].chunk.metadata["topic"], "db");
    // Stopwords only: no BM25 term, no hit, no error.
    assert!(top(SearchMode::Sparse, "the of and").await.is_empty());
}

#[tokio::test]
async fn metadata_filters_translate_to_payload_filters() {
    let dir = tempfile::tempdir().unwrap();
    let store = EdgeStore::open(dir.path(), EdgeStoreOptions::default()).unwrap();
    fill(&store, false).await;
    let r = store.searcher(SearchMode::Sparse);
    let ids = |filter: Filter| {
        let r = r.clone();
        async move {
            let q = Query::new("vectors rust crates search rerankers memory")
                .top_k(10)
                .filter(filter);
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
    };
    assert_eq!(ids(Filter::eq("topic", "rust")).await, ["c1", "c2"]);
    assert_eq!(ids(Filter::eq("year", 2023)).await, ["c3"]);
    let in_ml_or_db = Filter::In {
        field: "topic".into(),
        values: vec![json!("ml"), json!("db")],
    };
    assert_eq!(ids(in_ml_or_db).await, ["c3", "c4", "c5", "c6"]);
    let not_db = Filter::Not(Box::new(Filter::eq("topic", "db")));
    assert_eq!(ids(not_db).await, ["c1", "c2", "c5", "c6"]);
    let and = Filter::And(vec![Filter::eq("topic", "ml"), Filter::eq("year", 2026)]);
    assert_eq!(ids(and).await, ["c6"]);
    let none = Filter::In {
        field: "topic".into(),
        values: vec![],
    };
    assert!(ids(none).await.is_empty());
    let float = Query::new("rust").filter(Filter::eq("score", 0.5));
    let e = r.retrieve(&float).await.unwrap_err();
    assert!(
        matches!(&e, Error::InvalidInput { field, .. } if field == "query.filter.value"),
        "{e}"
    );
}

#[tokio::test]
async fn reopens_with_everything_there() {
    let dir = tempfile::tempdir().unwrap();
    let before = {
        let store = EdgeStore::open(dir.path(), dense_options()).unwrap();
        fill(&store, true).await;
        store
            .searcher(SearchMode::Hybrid)
            .with_embedder(embedder())
            .unwrap()
            .retrieve(&Query::new("dense vectors").top_k(6))
            .await
            .unwrap()
    };
    let store = EdgeStore::open(dir.path(), EdgeStoreOptions::default()).unwrap();
    assert_eq!(store.count().await.unwrap(), 6);
    assert_eq!(
        store.dense(),
        Some(&ragweave_core::DenseSpec::of(embedder().as_ref()))
    );
    let after = store
        .searcher(SearchMode::Hybrid)
        .with_embedder(embedder())
        .unwrap()
        .retrieve(&Query::new("dense vectors").top_k(6))
        .await
        .unwrap();
    assert_eq!(before, after);
}

#[tokio::test]
async fn a_bm25_store_gains_a_dense_vector_but_never_switches_models() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = EdgeStore::open(dir.path(), EdgeStoreOptions::default()).unwrap();
        fill(&store, false).await;
        assert!(store.dense().is_none());
        let e = store
            .searcher(SearchMode::Dense)
            .with_embedder(embedder())
            .unwrap_err();
        assert!(e.to_string().contains("holds no dense vectors"), "{e}");
    }
    {
        let store = EdgeStore::open(dir.path(), dense_options()).unwrap();
        assert_eq!(
            store.count().await.unwrap(),
            6,
            "adding a vector keeps points"
        );
        fill(&store, true).await;
        let hits = store
            .searcher(SearchMode::Dense)
            .with_embedder(embedder())
            .unwrap()
            .retrieve(&Query::new("memory safety").top_k(1))
            .await
            .unwrap();
        assert_eq!(hits[0].chunk.id, "c1");
    }
    let other = EdgeStoreOptions::with_embedder(Arc::new(HashingEmbedder::new(384)));
    let e = EdgeStore::open(dir.path(), other).unwrap_err();
    assert!(
        matches!(&e, Error::Config { path, .. } if path == "embedder"),
        "{e}"
    );
    // Refused without harm.
    let store = EdgeStore::open(dir.path(), EdgeStoreOptions::default()).unwrap();
    assert_eq!(store.count().await.unwrap(), 6);
}

#[tokio::test]
async fn bad_vectors_are_typed_errors_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = EdgeStore::open(dir.path(), dense_options()).unwrap();
    fill(&store, true).await;
    let good = |id: &str| EmbeddedChunk {
        chunk: Chunk::new(id, "d", "text"),
        vector: Some(vec![1.0; DIM]),
    };
    let mut wrong = good("x2");
    wrong.vector = Some(vec![1.0; DIM - 1]);
    let e = store.upsert(vec![good("x1"), wrong]).await.unwrap_err();
    assert!(
        matches!(&e, Error::DimensionMismatch { field, expected: DIM, actual } if field == "chunks[1].vector" && *actual == DIM - 1),
        "{e}"
    );
    let mut nan = good("x2");
    nan.vector.as_mut().unwrap()[5] = f32::NAN;
    let e = store.upsert(vec![good("x1"), nan]).await.unwrap_err();
    assert!(
        matches!(&e, Error::InvalidInput { field, .. } if field == "chunks[1].vector[5]"),
        "{e}"
    );
    let mut zero = good("x2");
    zero.vector = Some(vec![0.0; DIM]);
    assert!(store.upsert(vec![zero]).await.is_err());
    assert_eq!(store.count().await.unwrap(), 6);
    let q = Query {
        vector: Some(ragweave_core::QueryVector {
            model: embedder().model_id().to_string(),
            values: vec![1.0; 3],
        }),
        ..Query::new("q")
    };
    let r = store
        .searcher(SearchMode::Dense)
        .with_embedder(embedder())
        .unwrap();
    let e = r.retrieve(&q).await.unwrap_err();
    assert!(matches!(e, Error::DimensionMismatch { .. }), "{e}");
}

#[tokio::test]
async fn corrupt_or_foreign_directories_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "mine").unwrap();
    let e = EdgeStore::open(&foreign, EdgeStoreOptions::default()).unwrap_err();
    assert!(
        matches!(
            e.cause::<EdgeStoreError>(),
            Some(EdgeStoreError::Corrupt { .. })
        ),
        "{e}"
    );
    assert_eq!(
        std::fs::read_to_string(foreign.join("notes.txt")).unwrap(),
        "mine"
    );

    let broken = dir.path().join("broken");
    {
        let store = EdgeStore::open(&broken, EdgeStoreOptions::default()).unwrap();
        fill(&store, false).await;
    }
    std::fs::write(broken.join("ragweave-store.json"), "{ not json").unwrap();
    let e = EdgeStore::open(&broken, EdgeStoreOptions::default()).unwrap_err();
    assert!(
        matches!(e.cause::<EdgeStoreError>(), Some(EdgeStoreError::Corrupt { path, .. }) if path.ends_with("ragweave-store.json")),
        "{e}"
    );

    let segments = dir.path().join("segments");
    {
        let store = EdgeStore::open(&segments, EdgeStoreOptions::default()).unwrap();
        fill(&store, false).await;
    }
    std::fs::write(segments.join("edge_config.json"), "garbage").unwrap();
    let e = EdgeStore::open(&segments, EdgeStoreOptions::default()).unwrap_err();
    assert!(
        matches!(
            e.cause::<EdgeStoreError>(),
            Some(EdgeStoreError::Corrupt { .. })
        ),
        "{e}"
    );
}

/// Run as a child process by `a_store_held_by_another_process_is_locked`.
#[tokio::test]
async fn child_holds_store() {
    let Ok(path) = std::env::var("RAGWEAVE_TEST_HOLD_STORE") else {
        return;
    };
    let _store = EdgeStore::open(&path, EdgeStoreOptions::default()).unwrap();
    println!("holding");
    std::io::stdout().flush().unwrap();
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
}

#[tokio::test]
async fn a_store_held_by_another_process_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = EdgeStore::open(dir.path(), EdgeStoreOptions::default()).unwrap();
        fill(&store, false).await;
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_holds_store",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("RAGWEAVE_TEST_HOLD_STORE", dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("holding") {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "child exited early");
    }
    let e = EdgeStore::open(dir.path(), EdgeStoreOptions::default()).unwrap_err();
    assert!(
        matches!(
            e.cause::<EdgeStoreError>(),
            Some(EdgeStoreError::Locked { .. })
        ),
        "{e}"
    );
    assert!(e.is_transient());
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    let store = EdgeStore::open(dir.path(), EdgeStoreOptions::default()).unwrap();
    assert_eq!(
        store.count().await.unwrap(),
        6,
        "the other process lost nothing"
    );
}

#[tokio::test]
async fn opens_in_one_process_share_the_shard() {
    let dir = tempfile::tempdir().unwrap();
    let a = EdgeStore::open(dir.path(), EdgeStoreOptions::default()).unwrap();
    let b = EdgeStore::open(dir.path(), EdgeStoreOptions::default()).unwrap();
    fill(&a, false).await;
    assert_eq!(b.count().await.unwrap(), 6);
}

#[tokio::test]
async fn a_crash_between_adding_the_dense_vector_and_the_manifest_heals() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = EdgeStore::open(dir.path(), dense_options()).unwrap();
        fill(&store, true).await;
    }
    // As if killed after the engine added the vector but before the manifest said so.
    std::fs::write(
        dir.path().join("ragweave-store.json"),
        r#"{"format": 1, "dense": null}"#,
    )
    .unwrap();
    let store = EdgeStore::open(dir.path(), dense_options()).unwrap();
    assert_eq!(
        store.dense(),
        Some(&ragweave_core::DenseSpec::of(embedder().as_ref()))
    );
    assert_eq!(store.count().await.unwrap(), 6);
    let hits = store
        .searcher(SearchMode::Dense)
        .with_embedder(embedder())
        .unwrap()
        .retrieve(&Query::new("memory safety garbage collector").top_k(1))
        .await
        .unwrap();
    assert_eq!(
        hits.first().map(|h| h.chunk.id.as_str()),
        Some("c1"),
        "vectors kept"
    );
}

#[tokio::test]
async fn the_bm25_average_length_is_fixed_at_creation_and_shapes_scores() {
    let (short, long) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let scores = |store: EdgeStore| async move {
        fill(&store, false).await;
        let hits = store
            .searcher(SearchMode::Sparse)
            .retrieve(&Query::new("dense vectors").top_k(6))
            .await
            .unwrap();
        hits.iter().map(|h| h.score).collect::<Vec<_>>()
    };
    let opts = |avg: Option<f32>| EdgeStoreOptions {
        bm25_avg_len: avg,
        ..Default::default()
    };
    let default = EdgeStore::open(long.path(), opts(None)).unwrap();
    assert_eq!(default.bm25_avg_len(), DEFAULT_BM25_AVG_LEN);
    let at_256 = scores(default).await;
    let at_4 = scores(EdgeStore::open(short.path(), opts(Some(4.0))).unwrap()).await;
    // These texts are a few tokens long: against an average of 256 they all look short.
    assert_ne!(at_256, at_4);

    // Reopening keeps the recorded length; asking for another is a config error.
    let again = EdgeStore::open(short.path(), opts(None)).unwrap();
    assert_eq!(again.bm25_avg_len(), 4.0);
    drop(again);
    let err = EdgeStore::open(short.path(), opts(Some(100.0))).unwrap_err();
    assert!(
        err.to_string()
            .contains("chunks of 4 tokens on average, not 100"),
        "{err}"
    );
    let bad = tempfile::tempdir().unwrap();
    let err = EdgeStore::open(bad.path(), opts(Some(0.0))).unwrap_err();
    assert!(err.to_string().contains("bm25_avg_len"), "{err}");
}

#[tokio::test]
async fn a_word_the_query_repeats_counts_more() {
    let dir = tempfile::tempdir().unwrap();
    let store = EdgeStore::open(dir.path(), EdgeStoreOptions::default()).unwrap();
    let chunk = |id: &str, text: &str| EmbeddedChunk {
        chunk: Chunk::new(id, id, text),
        vector: None,
    };
    store
        .upsert(vec![
            chunk("whales", "whales sing in the deep ocean"),
            chunk("lakes", "lakes freeze in a cold winter"),
        ])
        .await
        .unwrap();
    // How much the whales text beats the lakes text on a query.
    let lead = |q: &'static str| {
        let store = store.clone();
        async move {
            let hits = store
                .searcher(SearchMode::Sparse)
                .retrieve(&Query::new(q).top_k(2))
                .await
                .unwrap();
            let score = |id: &str| hits.iter().find(|h| h.chunk.id == id).unwrap().score;
            score("whales") / score("lakes")
        }
    };
    let once = lead("whales winter").await;
    let whales_thrice = lead("whales whales whales winter").await;
    let winter_thrice = lead("winter winter winter whales").await;
    // Saturating, as document term frequencies do (a weight of 1 each would give 1.0).
    assert!((once - 1.0).abs() < 1e-5, "{once}");
    assert!(whales_thrice > once * 1.1, "{once} -> {whales_thrice}");
    assert!(winter_thrice < once / 1.1, "{once} -> {winter_thrice}");
}

/// The store as a config component: `[stores]` opens (or, for ingestion, creates) it with its
/// embedder, a `store` expert searches it hybrid, and errors name the store's fields.
#[tokio::test]
async fn a_config_names_the_store_and_an_expert_searches_it() {
    use ragweave_core::config::{BuildContext, PipelineConfig, Registry};
    let dir = tempfile::tempdir().unwrap();
    let mut registry = Registry::with_builtins();
    ragweave_qdrant_edge::register(&mut registry);
    let text = format!(
        "[embedders.h]\nkind = 'hashing'\ndimension = {DIM}\n\
         [stores.docs]\nkind = 'qdrant_edge'\npath = 'store'\nembedder = 'h'\n\
         [experts.docs]\nkind = 'store'\nstore = 'docs'\n"
    );
    let config = PipelineConfig::from_toml_str(&text).unwrap();
    config.validate(&registry).unwrap();
    let err = config.build(&registry, dir.path()).await.err().unwrap();
    assert!(
        matches!(&err, Error::NotFound { name, .. } if name.contains("stores.docs.path")),
        "{err}"
    );
    let ctx = BuildContext::new(dir.path()).creating_stores(true);
    let built = config.build_in(&registry, ctx).await.unwrap();
    let store = built.components.get::<dyn ChunkStore>("docs").unwrap();
    assert_eq!(store.name(), "qdrant-edge");
    let e = store.embedder().expect("the store's embedder");
    store
        .upsert(ragweave_testkit::store::topic_corpus(Some(e.as_ref())).await)
        .await
        .unwrap();
    let hits = built
        .pipeline
        .retrieve("garbage collector memory safety")
        .await
        .unwrap();
    assert_eq!(hits[0].chunk.id, "c1");
    drop(built);
    // Reopened for search alone, the store is there with its vectors.
    let again = config.build(&registry, dir.path()).await.unwrap();
    assert_eq!(
        again.retrieve("HNSW graphs").await.unwrap()[0].chunk.id,
        "c3"
    );

    let bad = text.replace(
        "embedder = 'h'\n[experts",
        "embedder = 'h'\nbm25_avg_len = 0\n[experts",
    );
    let err = PipelineConfig::from_toml_str(&bad)
        .unwrap()
        .build_in(
            &registry,
            BuildContext::new(dir.path()).creating_stores(true),
        )
        .await
        .err()
        .unwrap();
    assert!(
        matches!(&err, Error::Config { path, .. } if path == "stores.docs.bm25_avg_len"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_writers_through_one_store_neither_panic_nor_lose_a_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let store = EdgeStore::open(dir.path(), EdgeStoreOptions::default()).unwrap();
    let (writers, batches, per_batch) = (16, 20, 5);
    let mut tasks = Vec::new();
    for w in 0..writers {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for b in 0..batches {
                let chunks = (0..per_batch)
                    .map(|i| {
                        let id = format!("w{w}-b{b}-{i}");
                        EmbeddedChunk {
                            chunk: Chunk::new(id.clone(), format!("doc{w}"), format!("text {id}")),
                            vector: None,
                        }
                    })
                    .collect();
                store.upsert(chunks).await.unwrap();
                // Deletes and searches interleave with the other writers' upserts.
                if b % 5 == 4 {
                    let gone = store
                        .delete_chunks(&[format!("w{w}-b{b}-0")])
                        .await
                        .unwrap();
                    assert_eq!(gone, 1);
                }
                let hits = store
                    .searcher(SearchMode::Sparse)
                    .retrieve(&Query::new(format!("w{w}-b{b}-1")).top_k(3))
                    .await
                    .unwrap();
                assert!(!hits.is_empty());
            }
        }));
    }
    for t in tasks {
        t.await.expect("a writer panicked");
    }
    let expected = writers * batches * per_batch - writers * (batches / 5);
    assert_eq!(store.count().await.unwrap(), expected);
    drop(store);
    let reopened = EdgeStore::open(dir.path(), EdgeStoreOptions::default()).unwrap();
    assert_eq!(
        reopened.count().await.unwrap(),
        expected,
        "all of it was flushed"
    );
}
