//! Routing over expert retrievers (RouterRetriever, arXiv 2409.02685): two experts, BM25 over
//! SciFact (science claims) and over ArguAna (debate arguments), and a `PilotRouter` whose
//! pilots are a few example queries per expert, embedded with all-MiniLM-L6-v2. Held-out
//! queries are routed and the share that reached their own domain's expert is printed; then
//! one query per domain goes through the pipeline.
//!
//! `cargo run --release -p router -- [PILOTS_PER_EXPERT] [HELD_OUT_PER_EXPERT]` (default 32 100)
//! Needs ../shared/datasets (or RAGWEAVE_DATASETS) and MiniLM: scripts/fetch-minilm.sh, or
//! RAGWEAVE_MINILM, else the Hugging Face hub id.

use std::path::PathBuf;
use std::sync::Arc;

use ragweave::candle::{CandleEmbedder, CandleEmbedderOptions};
use ragweave::eval::Dataset;
use ragweave::{
    Bm25Index, Bm25Params, Embedder, PilotRouter, PilotScoring, Pipeline, Query, Router,
    read_jsonl_corpus,
};

const EXPERTS: [&str; 2] = ["scifact", "arguana"];

fn datasets() -> PathBuf {
    std::env::var_os("RAGWEAVE_DATASETS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets"),
        PathBuf::from,
    )
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
    let mut args = std::env::args().skip(1);
    let pilots: usize = args.next().map_or(Ok(32), |a| a.parse())?;
    let held_out: usize = args.next().map_or(Ok(100), |a| a.parse())?;

    let embedder: Arc<dyn Embedder> = Arc::new(CandleEmbedder::load(
        &minilm(),
        CandleEmbedderOptions::default(),
    )?);
    let router = PilotRouter::new(embedder)
        .scoring(PilotScoring::Mean)
        .top_k(1);
    let mut builder = Pipeline::builder();
    let mut tests = Vec::new();
    for expert in EXPERTS {
        let dir = datasets().join(expert);
        let bm25 = Bm25Index::new(Bm25Params::default());
        bm25.insert(read_jsonl_corpus(&dir.join("corpus.jsonl"), None)?)?;
        builder = builder.expert(expert, Arc::new(bm25));
        let queries = Dataset::load(&dir, "test")?.queries;
        let (first, rest) = queries.split_at(pilots.min(queries.len()));
        let examples: Vec<&str> = first.iter().map(|q| q.text.as_str()).collect();
        router.add_expert_from_queries(expert, &examples).await?;
        tests.extend(rest.iter().take(held_out).map(|q| (expert, q.text.clone())));
    }

    let names: Vec<String> = EXPERTS.map(String::from).to_vec();
    let mut right = 0;
    for (expert, text) in &tests {
        let routes = router.route(&Query::new(text.as_str()), &names).await?;
        right += usize::from(routes[0].expert == *expert);
    }
    println!(
        "routed to their own domain's expert: {right} of {} held-out queries ({:.1}%), {pilots} pilots each",
        tests.len(),
        100.0 * right as f64 / tests.len() as f64
    );

    let pipeline = builder.router(Arc::new(router)).build()?;
    for question in [
        "Aspirin lowers the risk of colorectal cancer.",
        "Zoos should be banned because animals suffer in captivity.",
    ] {
        let answer = pipeline.ask(question).await?;
        let route = answer.trace.stage("route").map(|s| s.notes.join(", "));
        let top: String = answer.hits[0].chunk.text.chars().take(90).collect();
        println!(
            "\n{question}\n  route: {}\n  top hit: {}",
            route.unwrap_or_default(),
            top.replace('\n', " ")
        );
    }
    Ok(())
}
