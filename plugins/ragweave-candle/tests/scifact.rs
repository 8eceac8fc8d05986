//! Dense MiniLM retrieval on SciFact with exact search: sentence-transformers gives nDCG@10
//! 0.6451 on the 300 test queries, and so must we (within 0.005).

use std::collections::HashMap;

use ragweave_candle::{CandleEmbedder, CandleEmbedderOptions};
use ragweave_core::{EmbedInput, ndcg_at_k, read_jsonl_corpus};
use ragweave_testkit::datasets::{dataset, test_qrels, test_queries};

#[test]
fn minilm_dense_retrieval_reaches_the_published_ndcg() {
    let dir = dataset("scifact");
    let corpus = read_jsonl_corpus(&dir.join("corpus.jsonl"), None).unwrap();
    let queries = test_queries(&dir);
    let qrels = test_qrels(&dir);
    assert_eq!(queries.len(), 300);

    let model = ragweave_testkit::models::minilm();
    let embedder =
        CandleEmbedder::load(model.to_str().unwrap(), CandleEmbedderOptions::default()).unwrap();
    let start = std::time::Instant::now();
    let texts: Vec<String> = corpus.iter().map(|c| c.text.clone()).collect();
    let docs = embedder
        .embed_blocking(&texts, EmbedInput::DOCUMENT)
        .unwrap();
    let secs = start.elapsed().as_secs_f64();
    let query_texts: Vec<String> = queries.iter().map(|(_, t)| t.clone()).collect();
    let qvecs = embedder
        .embed_blocking(&query_texts, EmbedInput::QUERY)
        .unwrap();

    let mut total = 0.0;
    for ((qid, _), q) in queries.iter().zip(&qvecs) {
        let mut scored: Vec<(f32, &str)> = docs
            .iter()
            .zip(&corpus)
            .map(|(d, c)| (d.iter().zip(q).map(|(a, b)| a * b).sum(), c.id.as_str()))
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        let ranked: Vec<&str> = scored.iter().take(10).map(|(_, id)| *id).collect();
        let relevant: &HashMap<String, f32> = &qrels[qid];
        total += ndcg_at_k(&ranked, relevant, 10);
    }
    let ndcg = total / queries.len() as f64;
    println!(
        "SciFact MiniLM dense nDCG@10 = {ndcg:.4} ({} docs embedded in {secs:.0} s)",
        corpus.len()
    );
    assert!((ndcg - 0.645).abs() <= 0.005, "nDCG@10 {ndcg:.4}");
}
