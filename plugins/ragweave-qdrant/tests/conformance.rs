//! The plugin against a real Qdrant server (1.18, the binary in `../shared/qdrant`, started
//! here on ports of its own): the store suite with and without dense vectors, the retriever
//! suite in every search mode, the store as a config component, and the errors a missing
//! collection, a refused key and a wrong vector size get.

use std::sync::Arc;

use ragweave_core::config::{BuildContext, PipelineConfig, Registry};
use ragweave_core::{ChunkStore, Embedder, Error, Filter, HashingEmbedder, Query, Retriever};
use ragweave_qdrant::{HybridFusion, QdrantError, QdrantOptions, QdrantStore, SearchMode};
use ragweave_testkit::qdrant::QdrantServer;

const DIM: usize = 64;

fn embedder() -> Arc<dyn Embedder> {
    Arc::new(HashingEmbedder::new(DIM))
}

#[tokio::test]
async fn passes_the_store_and_retriever_suites() {
    let server = QdrantServer::start(None);
    let dense = QdrantStore::connect(
        "dense",
        QdrantOptions::at(server.url()).embedder(embedder()),
    )
    .await
    .unwrap();
    ragweave_testkit::store::check(&dense, Some(DIM))
        .await
        .assert_passed();
    let sparse = QdrantStore::connect("sparse", QdrantOptions::at(server.url()))
        .await
        .unwrap();
    ragweave_testkit::store::check(&sparse, None)
        .await
        .assert_passed();

    let store = QdrantStore::connect(
        "search",
        QdrantOptions::at(server.url()).embedder(embedder()),
    )
    .await
    .unwrap();
    let e = embedder();
    store
        .upsert(ragweave_testkit::store::topic_corpus(Some(e.as_ref())).await)
        .await
        .unwrap();
    let queries = ["dense vectors", "Rust crates", "keyword search BM25"];
    for (mode, fusion) in [
        (SearchMode::Sparse, HybridFusion::Engine),
        (SearchMode::Dense, HybridFusion::Engine),
        (SearchMode::Hybrid, HybridFusion::Engine),
        (SearchMode::Hybrid, HybridFusion::Ragweave),
    ] {
        let r = store.searcher(mode).fusion(fusion);
        let report =
            ragweave_testkit::retriever::check(&r, &queries, Some(Filter::eq("topic", "db"))).await;
        assert!(
            report.failed.is_empty(),
            "{mode:?}/{fusion:?}: {:?}",
            report.failed
        );
        let report = if mode == SearchMode::Hybrid {
            ragweave_testkit::retriever::check_declines_score_documents(&r, &queries).await
        } else {
            let filter = Some(Filter::eq("topic", "db"));
            ragweave_testkit::retriever::check_score_documents(&r, &queries, filter).await
        };
        assert!(
            report.failed.is_empty(),
            "{mode:?}/{fusion:?}: {:?}",
            report.failed
        );
    }
    let top = store
        .searcher(SearchMode::Sparse)
        .retrieve(&Query::new("crate").top_k(1))
        .await
        .unwrap();
    assert_eq!(top[0].chunk.id, "c2", "BM25 stems");
}

/// `[stores]` builds a collection (created where the command ingests, else it must exist);
/// a `store` expert searches it hybrid with the store's embedder.
#[tokio::test]
async fn a_config_names_the_collection_and_an_expert_searches_it() {
    let server = QdrantServer::start(None);
    let mut registry = Registry::with_builtins();
    ragweave_qdrant::register(&mut registry);
    let text = format!(
        "[embedders.h]\nkind = 'hashing'\ndimension = {DIM}\n\
         [stores.docs]\nkind = 'qdrant'\nurl = '{}'\ncollection = 'docs'\nembedder = 'h'\n\
         timeout_secs = 10\nattempts = 3\n\
         [experts.docs]\nkind = 'store'\nstore = 'docs'\n",
        server.url()
    );
    let config = PipelineConfig::from_toml_str(&text).unwrap();
    config.validate(&registry).unwrap();
    let err = config.build(&registry, ".").await.err().unwrap();
    assert!(
        matches!(&err, Error::NotFound { name, .. } if name.contains("docs")),
        "searching a collection nobody made: {err}"
    );
    let ctx = BuildContext::new(".").creating_stores(true);
    let built = config.build_in(&registry, ctx).await.unwrap();
    let store = built.components.get::<dyn ChunkStore>("docs").unwrap();
    assert_eq!(store.name(), "qdrant");
    let e = store.embedder().expect("the store's embedder");
    store
        .upsert(ragweave_testkit::store::topic_corpus(Some(e.as_ref())).await)
        .await
        .unwrap();
    let hits = built
        .pipeline
        .retrieve("HNSW graphs for dense vectors")
        .await
        .unwrap();
    assert_eq!(hits[0].chunk.id, "c3");
    assert!(hits[0].chunk.text.contains("HNSW"));

    let bad = text.replace("timeout_secs = 10", "timeout_secs = -1");
    let err = PipelineConfig::from_toml_str(&bad)
        .and_then(|c| c.validate(&registry))
        .unwrap_err();
    assert!(
        matches!(&err, Error::Config { path, .. } if path == "stores.docs.timeout_secs"),
        "{err}"
    );
    let unknown = text.replace("attempts = 3", "attempt = 3");
    let err = PipelineConfig::from_toml_str(&unknown)
        .and_then(|c| c.validate(&registry))
        .unwrap_err();
    assert!(
        err.to_string().contains("unknown field `attempt`")
            && err.to_string().contains("`attempts`"),
        "{err}"
    );
}

#[tokio::test]
async fn refused_keys_and_wrong_sizes_are_typed_errors() {
    let server = QdrantServer::start(Some("secret"));
    for key in [None, Some("wrong")] {
        let mut o = QdrantOptions::at(server.url());
        o.api_key = key.map(str::to_string);
        o.api_key_env = "RAGWEAVE_TEST_NO_SUCH_VARIABLE".into();
        let e = QdrantStore::connect("docs", o).await.unwrap_err();
        assert!(
            matches!(
                e.cause::<QdrantError>(),
                Some(QdrantError::Unauthorized { .. })
            ),
            "{key:?}: {}",
            e.report()
        );
        assert!(!e.is_transient(), "a bad key is not retried");
    }
    let o = QdrantOptions::at(server.url()).api_key("secret");
    let store = QdrantStore::connect("docs", o.clone().embedder(embedder()))
        .await
        .unwrap();
    assert_eq!(store.count().await.unwrap(), 0);
    let e = QdrantStore::connect("docs", o.embedder(Arc::new(HashingEmbedder::new(48))))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &e,
            Error::DimensionMismatch {
                expected: DIM,
                actual: 48,
                ..
            }
        ),
        "{e}"
    );
}
