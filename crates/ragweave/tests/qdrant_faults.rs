//! The Qdrant plugin's bad input and failures over real gRPC, against a real Qdrant server
//! (the binary in `../shared/qdrant`, started here): a server that is down, killed and
//! restarted mid-ingest; refused API keys; unknown collections; wrong vector sizes. Failures
//! a real server cannot be made to produce on demand (UNAVAILABLE, DEADLINE_EXCEEDED,
//! RESOURCE_EXHAUSTED to chosen upserts) come from a fault proxy in front of it
//! (`fault_proxy/mod.rs`), which forwards everything else untouched.

mod fault_proxy;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fault_proxy::FaultProxy;
use ragweave::qdrant::{DenseSpec, QdrantError, QdrantOptions, QdrantStore, RetryPolicy};
use ragweave::{Chunk, ChunkStore, EmbeddedChunk, Embedder, Error, HashingEmbedder};
use ragweave_testkit::qdrant::{QdrantServer, unused_url};
use tonic::Code;

const DIM: usize = 32;

fn spec(dimension: usize) -> DenseSpec {
    DenseSpec {
        model: HashingEmbedder::new(dimension).model_id().to_string(),
        dimension,
    }
}

fn fast_retry(attempts: u32) -> RetryPolicy {
    RetryPolicy {
        attempts,
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(400),
    }
}

fn options(url: &str) -> QdrantOptions {
    let mut o = QdrantOptions::at(url);
    o.retry = fast_retry(30);
    o
}

fn embedder(dimension: usize) -> Arc<dyn Embedder> {
    Arc::new(HashingEmbedder::new(dimension))
}

/// `n` chunks over `n / 10` documents, with dense vectors when `dim` is set.
fn chunks(n: usize, dim: Option<usize>) -> Vec<EmbeddedChunk> {
    (0..n)
        .map(|i| EmbeddedChunk {
            chunk: Chunk::new(
                format!("chunk-{i}"),
                format!("doc-{}", i / 10),
                format!("passage {i} about river {}", i % 7),
            ),
            vector: dim.map(|d| {
                (0..d)
                    .map(|j| ((i * 31 + j * 7) % 13) as f32 + 1.0)
                    .collect()
            }),
        })
        .collect()
}

fn component_source(e: &Error) -> Option<&QdrantError> {
    e.cause::<QdrantError>()
}

#[tokio::test]
async fn a_server_that_is_down_is_named_at_once() {
    let url = unused_url();
    let started = Instant::now();
    let e = QdrantStore::connect("docs", QdrantOptions::at(&url))
        .await
        .unwrap_err();
    assert!(
        matches!(component_source(&e), Some(QdrantError::Unreachable { url: u, .. }) if *u == url),
        "{e}"
    );
    assert!(e.report().to_string().contains(&url), "{e}");
    assert!(e.is_transient());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "no retry loop at connect"
    );

    let e = QdrantStore::connect("docs", QdrantOptions::at("not a url"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Config { path, .. } if path == "url"),
        "{e}"
    );
}

#[tokio::test]
async fn api_keys_are_checked_and_a_refusal_is_typed() {
    let s = QdrantServer::start(Some("secret"));
    for key in [None, Some("wrong")] {
        let mut o = options(&s.url());
        o.api_key = key.map(str::to_string);
        let e = QdrantStore::connect("docs", o).await.unwrap_err();
        assert!(
            matches!(component_source(&e), Some(QdrantError::Unauthorized { .. })),
            "{key:?}: {e}"
        );
        assert!(!e.is_transient(), "a bad key is not retried");
    }
    let store = QdrantStore::connect("docs", options(&s.url()).api_key("secret"))
        .await
        .unwrap();
    store.upsert(chunks(3, None)).await.unwrap();
    assert_eq!(store.count().await.unwrap(), 3);
}

#[tokio::test]
async fn unknown_collections_and_wrong_sizes_are_typed_errors() {
    let s = QdrantServer::start(None);
    let mut o = options(&s.url());
    o.create_missing = false;
    let e = QdrantStore::connect("nowhere", o).await.unwrap_err();
    assert!(
        matches!(&e, Error::NotFound { name, .. } if name.contains("nowhere") && name.contains(&s.url())),
        "{e}"
    );

    let store = QdrantStore::connect("docs", options(&s.url()).embedder(embedder(DIM)))
        .await
        .unwrap();
    store.upsert(chunks(5, Some(DIM))).await.unwrap();
    let e = QdrantStore::connect("docs", options(&s.url()).embedder(embedder(48)))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::DimensionMismatch { expected: DIM, actual: 48, field } if field.contains("docs")),
        "{e}"
    );
    assert!(
        e.report().to_string().contains("expected 32, got 48"),
        "names both sizes: {e}"
    );
    // Refused without harm; the collection is taken as it is without a dense spec.
    let again = QdrantStore::connect("docs", options(&s.url()))
        .await
        .unwrap();
    assert_eq!(again.dense(), Some(&spec(DIM)));
    assert_eq!(again.count().await.unwrap(), 5);

    // A search config on a missing collection says so too.
    let registry = ragweave::registry();
    let toml = format!(
        "[stores.docs]\nkind = \"qdrant\"\nurl = \"{}\"\ncollection = \"missing\"\n\
         [experts.docs]\nkind = \"store\"\nstore = \"docs\"\n",
        s.url()
    );
    let config = ragweave::config::PipelineConfig::from_toml_str(&toml).unwrap();
    let Err(e) = config.build(&registry, std::path::Path::new(".")).await else {
        panic!("built a pipeline on a missing collection");
    };
    assert!(
        matches!(&e, Error::NotFound { name, .. } if name.contains("missing")),
        "{e}"
    );
}

#[tokio::test]
async fn transient_failures_are_retried_and_permanent_ones_are_not() {
    let server = QdrantServer::start(None);
    let s = FaultProxy::start(&server.url()).await;
    let store = QdrantStore::connect("docs", options(&s.url()))
        .await
        .unwrap();
    s.fail_upserts(&[
        Code::Unavailable,
        Code::DeadlineExceeded,
        Code::ResourceExhausted,
    ]);
    let before = s.upserts();
    store.upsert(chunks(10, None)).await.unwrap();
    // UNAVAILABLE is resent once by qdrant-client itself, DEADLINE_EXCEEDED and
    // RESOURCE_EXHAUSTED by the plugin's retry policy.
    assert_eq!(s.upserts() - before, 4, "three failures, then success");
    assert_eq!(store.count().await.unwrap(), 10);

    s.fail_upserts(&[Code::InvalidArgument]);
    let before = s.upserts();
    let e = store.upsert(chunks(20, None)).await.unwrap_err();
    assert_eq!(s.upserts() - before, 1, "not retried");
    assert!(
        matches!(
            component_source(&e),
            Some(QdrantError::Server {
                code: Code::InvalidArgument,
                ..
            })
        ),
        "{e}"
    );
    assert!(!e.is_transient());

    let mut o = options(&s.url());
    o.retry = fast_retry(2);
    let impatient = QdrantStore::connect("docs", o).await.unwrap();
    // qdrant-client itself reconnects and resends once on UNAVAILABLE, so each of the two
    // attempts costs two failures.
    s.fail_upserts(&[Code::Unavailable; 4]);
    let e = impatient.upsert(chunks(1, None)).await.unwrap_err();
    assert!(
        matches!(
            component_source(&e),
            Some(QdrantError::GaveUp { attempts: 2, .. })
        ),
        "{e}"
    );
}

/// SIGKILL of the server while batches are in flight (after 3 of 100), and a start on the
/// same port and data 800 ms later: the writer's retries carry it over the gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restarted_mid_ingest_loses_and_duplicates_nothing() {
    let mut s = QdrantServer::start(None);
    let mut o = options(&s.url()).embedder(embedder(DIM));
    o.batch_size = 25;
    let store = QdrantStore::connect("docs", o).await.unwrap();
    let all = chunks(1000, Some(DIM));
    let written = Arc::new(AtomicUsize::new(0));
    let writer = {
        let store = store.clone();
        let all = all.clone();
        let written = written.clone();
        tokio::spawn(async move {
            // Small batches, so that many calls are still to come when the kill lands.
            for part in all.chunks(10) {
                store.upsert(part.to_vec()).await?;
                written.fetch_add(1, Ordering::SeqCst);
            }
            Ok::<_, Error>(())
        })
    };
    while written.load(Ordering::SeqCst) < 3 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(!writer.is_finished(), "killed mid-ingest");
    s.kill();
    let at_kill = written.load(Ordering::SeqCst);
    assert!(
        at_kill < 100,
        "the kill came before the last batch: {at_kill}"
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    let s = tokio::task::spawn_blocking(move || {
        s.restart();
        s
    })
    .await
    .unwrap();
    writer.await.unwrap().unwrap();
    assert_eq!(
        store.count().await.unwrap(),
        1000,
        "nothing lost, nothing twice"
    );
    let docs = store.document_ids().await.unwrap();
    assert_eq!(docs.len(), 100);
    let mut ids = store.document_chunk_ids("doc-42").await.unwrap();
    ids.sort();
    assert_eq!(
        ids,
        (420..430).map(|i| format!("chunk-{i}")).collect::<Vec<_>>()
    );
    let got = store
        .get(&["chunk-999".to_string(), "chunk-0".to_string()])
        .await
        .unwrap();
    assert_eq!(
        got.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["chunk-999", "chunk-0"]
    );
    drop(s);
}

#[tokio::test]
async fn an_ingest_that_loses_the_server_resumes_on_the_next_run() {
    use ragweave::ingest::Ingestor;
    let files = tempfile::tempdir().unwrap();
    for i in 0..40 {
        let text = (0..6)
            .map(|p| {
                format!(
                    "Paragraph {p} of file {i}: rivers carry sediment number {}.",
                    i * 6 + p
                )
            })
            .collect::<Vec<_>>()
            .join("\n\n");
        std::fs::write(files.path().join(format!("f{i:02}.md")), text).unwrap();
    }
    let server = QdrantServer::start(None);
    let s = FaultProxy::start(&server.url()).await;
    let ingest = |collection: &'static str, attempts: u32| {
        let mut o = options(&s.url());
        o.retry = fast_retry(attempts);
        let root = files.path().to_path_buf();
        async move {
            let store = Arc::new(QdrantStore::connect(collection, o).await.unwrap());
            let result = Ingestor::new(store.clone())
                .batch_size(8)
                .ingest(&root)
                .await;
            (store, result)
        }
    };
    // The reference: one clean run.
    let (clean, report) = ingest("clean", 30).await;
    report.unwrap();
    let total = clean.count().await.unwrap();
    assert!(total >= 40, "{total}");

    // Three batches land, then the server is gone past the retry policy.
    s.pass_upserts(3);
    s.fail_upserts(&[Code::Unavailable; 4]);
    let (store, first) = ingest("docs", 2).await;
    let e = first.unwrap_err();
    assert!(e.is_transient(), "{e}");
    let partial = store.count().await.unwrap();
    assert!(partial > 0 && partial < total, "{partial} of {total}");

    // The next run resumes from what the collection holds.
    let (store, second) = ingest("docs", 30).await;
    second.unwrap();
    assert_eq!(
        store.count().await.unwrap(),
        total,
        "nothing lost, nothing twice"
    );
    assert_eq!(
        store.document_ids().await.unwrap(),
        clean.document_ids().await.unwrap()
    );
    for doc in clean.document_ids().await.unwrap() {
        let (mut a, mut b) = (
            clean.document_chunk_ids(&doc).await.unwrap(),
            store.document_chunk_ids(&doc).await.unwrap(),
        );
        a.sort();
        b.sort();
        assert_eq!(a, b, "{doc}");
    }
}
