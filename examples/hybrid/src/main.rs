//! Hybrid retrieval: one Qdrant Edge store holds BM25 and all-MiniLM-L6-v2 vectors for a slice
//! of SciFact (the documents relevant to the first queries, and others around them); the same
//! queries are searched sparse, dense and hybrid (both fused by RRF in the engine) and each
//! mode's nDCG@10 is printed.
//!
//! `cargo run --release -p hybrid -- [--docs N] [--queries N]` (default 1000 documents, 100
//! queries). Needs ../shared/datasets (or RAGWEAVE_DATASETS) and MiniLM: scripts/fetch-minilm.sh,
//! or RAGWEAVE_MINILM, else the Hugging Face hub id.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::sync::Arc;

use ragweave::candle::{CandleEmbedder, CandleEmbedderOptions};
use ragweave::eval::{Dataset, Metric, Run, evaluate};
use ragweave::ingest::Ingestor;
use ragweave::qdrant_edge::{EdgeStore, EdgeStoreOptions, SearchMode};
use ragweave::{Query, Retriever};

fn flag(args: &[String], name: &str, default: usize) -> Result<usize, std::num::ParseIntError> {
    match args
        .iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
    {
        Some(value) => value.parse(),
        None => Ok(default),
    }
}

/// The local copy scripts/fetch-minilm.sh makes, else the hub.
fn minilm() -> String {
    let local = std::env::var_os("RAGWEAVE_MINILM")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/ragweave/models/all-MiniLM-L6-v2")
        });
    if local.join("model.safetensors").exists() {
        local.display().to_string()
    } else {
        "sentence-transformers/all-MiniLM-L6-v2".into()
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (docs, queries) = (flag(&args, "--docs", 1000)?, flag(&args, "--queries", 100)?);
    let dataset_dir = std::env::var_os("RAGWEAVE_DATASETS")
        .map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets"),
            PathBuf::from,
        )
        .join("scifact");
    let mut dataset = Dataset::load(&dataset_dir, "test")?;
    dataset.truncate(queries);
    let chosen: HashSet<String> = dataset.queries.iter().map(|q| q.id.clone()).collect();
    let qrels = dataset.qrels.clone().retain_queries(|q| chosen.contains(q));
    let relevant: HashSet<String> = qrels.iter().flat_map(|(_, d)| d.keys().cloned()).collect();

    // The slice: every relevant document, then others in corpus order up to `docs` in all.
    let work = tempfile::tempdir()?;
    let corpus = work.path().join("corpus.jsonl");
    let mut out = std::fs::File::create(&corpus)?;
    let mut others = 0;
    for line in BufReader::new(std::fs::File::open(dataset_dir.join("corpus.jsonl"))?).lines() {
        let line = line?;
        let document: serde_json::Value = serde_json::from_str(&line)?;
        let id = document["_id"]
            .as_str()
            .ok_or("a corpus line without _id")?;
        if relevant.contains(id) {
            writeln!(out, "{line}")?;
        } else if others < docs.saturating_sub(relevant.len()) {
            writeln!(out, "{line}")?;
            others += 1;
        }
    }
    drop(out);

    let embedder = Arc::new(CandleEmbedder::load(
        &minilm(),
        CandleEmbedderOptions::default(),
    )?);
    let store = EdgeStore::open(
        work.path().join("store"),
        EdgeStoreOptions::with_embedder(embedder),
    )?;
    let started = std::time::Instant::now();
    let report = Ingestor::new(Arc::new(store.clone()))
        .ingest(&corpus)
        .await?;
    println!(
        "{} SciFact documents ({} chunks) embedded and stored in {:.1} s; {} queries",
        report.documents,
        report.chunks_written,
        started.elapsed().as_secs_f64(),
        dataset.queries.len()
    );

    println!("\n| mode | nDCG@10 |\n|---|---:|");
    for mode in [SearchMode::Sparse, SearchMode::Dense, SearchMode::Hybrid] {
        let retriever = store.searcher(mode);
        let mut run = Run::default();
        for query in &dataset.queries {
            let hits = retriever
                .retrieve(&Query::new(query.text.as_str()).top_k(20))
                .await?;
            // Passages of one document count once, where its best one ranks.
            let mut seen = HashSet::new();
            let ranked: Vec<&str> = hits
                .iter()
                .map(|h| dataset.document_id(&h.chunk.document_id))
                .filter(|d| seen.insert(*d))
                .collect();
            run.insert_ranking(&query.id, ranked);
        }
        let scores = evaluate(&qrels, &run, &[Metric::Ndcg(10)]);
        println!("| {mode:?} | {:.3} |", scores.mean["nDCG@10"]);
    }
    Ok(())
}
