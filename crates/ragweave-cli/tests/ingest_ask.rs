//! `ragweave ingest` and `ragweave ask` as a user runs them, on the project's docs and on
//! SciFact, including ingestion killed with SIGKILL part-way.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod common;

use common::{Snapshot, ok, ragweave};
use ragweave::qdrant_edge::{EdgeStore, EdgeStoreOptions, SearchMode};
use ragweave::{ChunkStore, Query, Retriever, ndcg_at_k};

fn scifact() -> PathBuf {
    ragweave_testkit::datasets::dataset("scifact")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn ask_cites_passages_from_the_ingested_docs() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let out = ok(ragweave(&[
        "ingest",
        "docs",
        "--store",
        s(&store),
        "--quiet",
    ]));
    assert!(out.contains("added"), "{out}");
    let out = ragweave(&[
        "ask",
        "how does the router choose experts?",
        "--store",
        s(&store),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let stdout = ok(out);
    assert!(stdout.starts_with("[1] docs/"), "{stdout}");
    assert!(stdout.contains("pilot"), "{stdout}");
    assert!(stderr.contains("No generator is configured"), "{stderr}");
    assert!(stderr.contains("--config"), "{stderr}");

    let json = ok(ragweave(&[
        "ask",
        "how does the router choose experts?",
        "--store",
        s(&store),
        "--json",
        "--top-k",
        "2",
    ]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["generated"], false);
    let hits = v["hits"].as_array().unwrap();
    assert!(!hits.is_empty() && hits.len() <= 2);
    assert!(
        hits[0]["chunk"]["metadata"]["source"]
            .as_str()
            .unwrap()
            .starts_with("docs/")
    );
}

#[test]
fn ask_without_a_store_says_how_to_make_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = ragweave(&["ask", "anything", "--store", s(&dir.path().join("none"))]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ragweave ingest"), "{err}");
}

#[test]
fn ingest_refuses_a_store_another_process_holds() {
    let dir = tempfile::tempdir().unwrap();
    let held = EdgeStore::open(dir.path(), EdgeStoreOptions::default()).unwrap();
    let out = ragweave(&["ingest", "docs", "--store", s(dir.path()), "--quiet"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("in use by another process"), "{err}");
    drop(held);
}

fn qrels(dir: &Path) -> Vec<(String, HashMap<String, f32>)> {
    let rel = ragweave_testkit::datasets::test_qrels(dir);
    std::fs::read_to_string(dir.join("queries.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|line| {
            let q: serde_json::Value = serde_json::from_str(line).unwrap();
            let judged = rel.get(q["_id"].as_str().unwrap())?;
            Some((q["text"].as_str().unwrap().to_string(), judged.clone()))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn scifact_ingests_and_retrieves_with_engine_bm25() {
    let data = scifact();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let corpus = data.join("corpus.jsonl");
    let out = ok(ragweave(&[
        "ingest",
        s(&corpus),
        "--store",
        s(&store),
        "--quiet",
    ]));
    assert!(out.contains("5183 documents (5183 added"), "{out}");
    let again = ok(ragweave(&[
        "ingest",
        s(&corpus),
        "--store",
        s(&store),
        "--quiet",
    ]));
    assert!(again.contains("5183 unchanged") && again.contains("0 chunks written, 0 deleted"));

    let store = EdgeStore::open(&store, EdgeStoreOptions::default()).unwrap();
    assert_eq!(store.document_ids().await.unwrap().len(), 5183);
    let bm25 = store.searcher(SearchMode::Sparse);
    let test = qrels(&data);
    assert_eq!(test.len(), 300);
    let mut sum = 0.0;
    for (text, rel) in &test {
        // Chunks of one document share its id; a document counts at its best chunk.
        let hits = bm25
            .retrieve(&Query::new(text.as_str()).top_k(30))
            .await
            .unwrap();
        let docs: Vec<&str> = hits
            .iter()
            .map(|h| h.chunk.document_id.split_once("corpus.jsonl#").unwrap().1)
            .collect();
        sum += ndcg_at_k(&docs, rel, 10);
    }
    let ndcg = sum / test.len() as f64;
    println!("SciFact nDCG@10, Qdrant Edge BM25 over ingested chunks: {ndcg:.4}");
    // Published BEIR BM25 on SciFact: 0.665.
    assert!(ndcg > 0.60, "nDCG@10 {ndcg}");
}

/// Seconds a `ragweave ingest` of one small file takes: process start, store open and close.
fn startup(dir: &Path) -> Duration {
    let file = dir.join("one.txt");
    std::fs::write(&file, "One small file.").unwrap();
    let started = Instant::now();
    ok(ragweave(&[
        "ingest",
        s(&file),
        "--store",
        s(&dir.join("startup")),
        "--quiet",
    ]));
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_ingestion_resumes_with_no_duplicate_and_no_loss() {
    let corpus = scifact().join("corpus.jsonl");
    let dir = tempfile::tempdir().unwrap();
    let clean = dir.path().join("clean");
    let ingest = |store: &Path| {
        common::command(&[
            "ingest",
            s(&corpus),
            "--store",
            s(store),
            "--quiet",
            "--batch",
            "64",
        ])
    };
    let started = Instant::now();
    ok(ingest(&clean).output().unwrap());
    let span = started.elapsed();
    let clean = Snapshot::of(&clean).await;

    // Kills spread over the writing, each run resuming what the one before left (a store
    // that got complete starts over).
    let startup = startup(dir.path());
    let killed = dir.path().join("killed");
    let mut partial = Vec::new();
    for delay in common::kill_delays(20, startup, startup + span / 8) {
        let mut child = ingest(&killed)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        // SIGKILL: no destructor, no flush, no unlock.
        child.kill().unwrap();
        let status = child.wait().unwrap();
        let count = Snapshot::of(&killed).await.count;
        partial.push((delay.as_millis(), count, status.success()));
        if status.success() || count == clean.count {
            // Done before the kill: start over, so the next kill lands mid-ingestion again.
            std::fs::remove_dir_all(&killed).unwrap();
        }
    }
    println!(
        "clean run {span:?}, startup {startup:?}; (kill ms, chunks stored, finished) after \
         each kill: {partial:?} of {}",
        clean.count
    );
    let midway = partial
        .iter()
        .filter(|(_, n, finished)| !finished && *n > 0 && *n < clean.count)
        .count();
    assert!(
        midway >= 15,
        "kills must land mid-ingestion: {midway} of 20 did: {partial:?}"
    );
    let out = ok(ingest(&killed).output().unwrap());
    assert!(out.contains("0 deleted"), "{out}");
    let resumed = Snapshot::of(&killed).await;
    assert_eq!(resumed.count, clean.count, "no chunk lost or duplicated");
    assert_eq!(
        resumed, clean,
        "the same chunks and searches as an uninterrupted run"
    );
}

#[test]
fn a_configured_embedder_makes_ingestion_and_search_hybrid() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pipeline.toml");
    std::fs::write(
        &config,
        r#"
[embedders.hash]
kind = "hashing"
dimension = 128

[stores.docs]
kind = "qdrant_edge"
path = "store"
embedder = "hash"

[experts.docs]
kind = "store"
store = "docs"
fusion = "ragweave"
"#,
    )
    .unwrap();
    let out = ragweave(&["ask", "pilot router", "--config", s(&config)]);
    assert!(!out.status.success(), "no store yet");
    assert!(String::from_utf8_lossy(&out.stderr).contains("ragweave ingest"));

    let out = ok(ragweave(&[
        "ingest",
        "docs",
        "--config",
        s(&config),
        "--quiet",
    ]));
    assert!(out.contains("hybrid: BM25 + hashing-128"), "{out}");
    let json = ok(ragweave(&[
        "ask",
        "how does the router choose experts?",
        "--config",
        s(&config),
        "--json",
    ]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let labels: Vec<&str> = v["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["retriever"].as_str().unwrap())
        .collect();
    assert!(
        labels.contains(&"bm25+dense"),
        "both sides found the best passages: {labels:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minilm_from_a_config_chunks_by_its_own_tokens_and_searches_hybrid() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pipeline.toml");
    let model = ragweave_testkit::models::minilm();
    std::fs::write(
        &config,
        format!(
            r#"
[embedders.minilm]
kind = "candle"
model = "{}"

[stores.docs]
kind = "qdrant_edge"
path = "store"
embedder = "minilm"

[experts.docs]
kind = "store"
store = "docs"
fusion = "ragweave"
"#,
            model.display()
        ),
    )
    .unwrap();
    let out = ok(ragweave(&[
        "ingest",
        "docs",
        "--config",
        s(&config),
        "--quiet",
    ]));
    assert!(out.contains("hybrid: BM25 + all-MiniLM-L6-v2"), "{out}");
    let json = ok(ragweave(&[
        "ask",
        "how does the router choose experts?",
        "--config",
        s(&config),
        "--json",
    ]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let hits = v["hits"].as_array().unwrap();
    assert!(!hits.is_empty());
    assert!(
        hits.iter()
            .any(|h| h["retriever"].as_str().unwrap().contains("dense")),
        "the MiniLM side contributed: {json}"
    );

    // Every stored chunk fits what MiniLM reads: 256 positions less [CLS] and [SEP].
    let embedder = ragweave::candle::CandleEmbedder::load(
        model.to_str().unwrap(),
        ragweave::candle::CandleEmbedderOptions::default(),
    )
    .unwrap();
    let counter = ragweave::Embedder::token_counter(&embedder).unwrap();
    let store = EdgeStore::open(dir.path().join("store"), EdgeStoreOptions::default()).unwrap();
    let ids: Vec<String> = store
        .chunk_ids()
        .await
        .unwrap()
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    let chunks = store.get(&ids).await.unwrap();
    assert_eq!(chunks.len(), ids.len());
    let longest = chunks.iter().map(|c| counter.count(&c.text)).max().unwrap();
    assert!(longest <= 254, "a chunk of {longest} MiniLM tokens");
    assert!(
        longest > 150,
        "chunks are cut near the limit, not by an estimate: {longest}"
    );
}
