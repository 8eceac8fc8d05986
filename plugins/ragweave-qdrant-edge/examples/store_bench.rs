//! Measures the store; `benches/store.sh` runs it beside its Python peer.
//!
//! ```text
//! store_bench bm25 <corpus.jsonl> <queries.jsonl> <qrels.tsv>   # index + search SciFact
//! store_bench hybrid <chunks> <dim> <corpus.jsonl> <queries.jsonl>  # hybrid p50/p99
//! ```
//! Prints one JSON object per measurement.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use ragweave_core::{
    Chunk, ChunkStore, EmbeddedChunk, Embedder, HashingEmbedder, Query, QueryVector, Retriever,
    ndcg_at_k,
};
use ragweave_qdrant_edge::{EdgeStore, EdgeStoreOptions, HybridFusion, SearchMode};
use serde_json::{Value, json};

fn lines(path: &str) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn corpus(path: &str) -> Vec<(String, String)> {
    lines(path)
        .into_iter()
        .map(|d| {
            let title = d["title"].as_str().unwrap_or("");
            let text = d["text"].as_str().unwrap_or("");
            (
                d["_id"].as_str().unwrap().to_string(),
                format!("{title} {text}"),
            )
        })
        .collect()
}

async fn bm25(corpus_path: &str, queries_path: &str, qrels_path: &str) {
    let docs = corpus(corpus_path);
    let mut rel: HashMap<String, HashMap<String, f32>> = HashMap::new();
    for line in std::fs::read_to_string(qrels_path).unwrap().lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        rel.entry(f[0].into())
            .or_default()
            .insert(f[1].into(), f[2].parse().unwrap());
    }
    let queries: Vec<(String, String)> = lines(queries_path)
        .into_iter()
        .filter_map(|q| {
            let id = q["_id"].as_str()?.to_string();
            rel.contains_key(&id)
                .then(|| (id, q["text"].as_str().unwrap().to_string()))
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let store = EdgeStore::open(dir.path(), EdgeStoreOptions::default()).unwrap();
    let started = Instant::now();
    let chunks: Vec<EmbeddedChunk> = docs
        .iter()
        .map(|(id, text)| EmbeddedChunk {
            chunk: Chunk::new(id.as_str(), id.as_str(), text.as_str()),
            vector: None,
        })
        .collect();
    for batch in chunks.chunks(1000) {
        store.upsert(batch.to_vec()).await.unwrap();
    }
    let index_s = started.elapsed().as_secs_f64();
    let r = store.searcher(SearchMode::Sparse);
    let started = Instant::now();
    let mut results = Vec::with_capacity(queries.len());
    for (_, text) in &queries {
        results.push(
            r.retrieve(&Query::new(text.as_str()).top_k(10))
                .await
                .unwrap(),
        );
    }
    let search_s = started.elapsed().as_secs_f64();
    let ndcg: f64 = queries
        .iter()
        .zip(&results)
        .map(|((id, _), hits)| {
            let ranked: Vec<&str> = hits.iter().map(|h| h.chunk.document_id.as_str()).collect();
            ndcg_at_k(&ranked, &rel[id], 10)
        })
        .sum::<f64>()
        / queries.len() as f64;
    println!(
        "{}",
        json!({"system": "ragweave-qdrant-edge", "docs": docs.len(), "queries": queries.len(),
               "index_s": index_s, "search_s": search_s, "ndcg@10": ndcg})
    );
}

/// A deterministic pseudo-random unit vector (xorshift), so runs are comparable.
fn vector(seed: u64, dim: usize) -> Vec<f32> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut v: Vec<f32> = (0..dim)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect();
    let norm = v.iter().map(|a| a * a).sum::<f32>().sqrt();
    v.iter_mut().for_each(|a| *a /= norm);
    v
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn hybrid(n: usize, dim: usize, corpus_path: &str, queries_path: &str) {
    // Real text, cycled to `n` chunks, so BM25 posting lists have a real term distribution;
    // random vectors, since search cost does not depend on their values.
    let docs = corpus(corpus_path);
    let text = |i: usize| docs[i % docs.len()].1.clone();
    let queries: Vec<String> = lines(queries_path)
        .into_iter()
        .map(|q| q["text"].as_str().unwrap().to_string())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    // Random vectors in the shape of the hashing embedder's (queries carry their own vector).
    let shape: Arc<dyn Embedder> = Arc::new(HashingEmbedder::new(dim));
    let model = shape.model_id().to_string();
    let store = EdgeStore::open(dir.path(), EdgeStoreOptions::with_embedder(shape)).unwrap();
    let started = Instant::now();
    let mut batch_ms = Vec::new();
    for start in (0..n).step_by(1000) {
        let batch = (start..(start + 1000).min(n))
            .map(|i| EmbeddedChunk {
                chunk: Chunk::new(format!("c{i}"), format!("d{}", i / 4), text(i)),
                vector: Some(vector(i as u64, dim)),
            })
            .collect();
        let t = Instant::now();
        store.upsert(batch).await.unwrap();
        batch_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let ingest_s = started.elapsed().as_secs_f64();
    let queries = &queries;
    let model = &model;
    let measure = |label: &'static str| {
        let store = store.clone();
        async move {
            let r = store
                .searcher(SearchMode::Hybrid)
                .fusion(HybridFusion::Engine);
            let mut ms = Vec::new();
            for q in 0..200u64 {
                let query = Query {
                    vector: Some(QueryVector {
                        model: model.clone(),
                        values: vector(1_000_000 + q, dim),
                    }),
                    ..Query::new(queries[q as usize % queries.len()].as_str()).top_k(10)
                };
                let t = Instant::now();
                let hits = r.retrieve(&query).await.unwrap();
                ms.push(t.elapsed().as_secs_f64() * 1e3);
                assert!(!hits.is_empty());
            }
            ms.sort_by(f64::total_cmp);
            println!(
                "{}",
                json!({"system": "ragweave-qdrant-edge", "hybrid": label, "chunks": n, "dim": dim,
                       "p50_ms": percentile(&ms, 0.5), "p99_ms": percentile(&ms, 0.99)})
            );
        }
    };
    measure("unoptimized").await;
    let started = Instant::now();
    store.optimize().await.unwrap();
    let optimize_s = started.elapsed().as_secs_f64();
    measure("optimized").await;
    println!(
        "{}",
        json!({"system": "ragweave-qdrant-edge", "chunks": n, "dim": dim,
               "ingest_s": ingest_s, "ingest_chunks_per_s": n as f64 / ingest_s,
               "first_batch_ms": batch_ms.first(), "last_batch_ms": batch_ms.last(),
               "optimize_s": optimize_s, "count": store.count().await.unwrap()})
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["bm25", corpus, queries, qrels] => bm25(corpus, queries, qrels).await,
        ["hybrid", n, dim, corpus, queries] => {
            hybrid(n.parse().unwrap(), dim.parse().unwrap(), corpus, queries).await
        }
        _ => {
            eprintln!(
                "usage: store_bench bm25 <corpus> <queries> <qrels> \
                 | hybrid <n> <dim> <corpus> <queries>"
            );
            std::process::exit(2);
        }
    }
}
