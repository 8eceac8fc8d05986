//! Embedding throughput: the first N documents of a BEIR corpus (title + text), timed after
//! one warm-up batch. `benches/embed.sh` runs it beside sentence-transformers.
//!
//! cargo run --release -p ragweave-candle --example embed_bench -- MODEL_DIR CORPUS [N] [f32|f16|bf16] [BATCH]

use std::time::Instant;

use ragweave_candle::{CandleEmbedder, CandleEmbedderOptions, EngineOptions, Precision};
use ragweave_core::{EmbedInput, read_jsonl_corpus};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, corpus, rest @ ..] = args.as_slice() else {
        return Err("usage: embed_bench MODEL_DIR CORPUS [N] [f32|f16|bf16] [BATCH]".into());
    };
    let n: usize = rest.first().map_or(Ok(1000), |s| s.parse())?;
    let precision = match rest.get(1).map_or("f32", String::as_str) {
        "f32" => Precision::F32,
        "f16" => Precision::F16,
        "bf16" => Precision::Bf16,
        other => return Err(format!("unknown precision {other}").into()),
    };
    let batch: usize = rest.get(2).map_or(Ok(32), |s| s.parse())?;
    let texts: Vec<String> = read_jsonl_corpus(corpus.as_ref(), Some(n))?
        .into_iter()
        .map(|c| c.text)
        .collect();
    let options = CandleEmbedderOptions {
        engine: EngineOptions {
            precision,
            max_length: Some(256),
            ..Default::default()
        },
        batch_size: batch,
        ..Default::default()
    };
    let embedder = CandleEmbedder::load(model, options)?;
    embedder.embed_blocking(&texts[..batch.min(texts.len())], EmbedInput::DOCUMENT)?;
    let start = Instant::now();
    let vectors = embedder.embed_blocking(&texts, EmbedInput::DOCUMENT)?;
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(vectors.len(), texts.len());
    println!(
        "ragweave-candle {precision:?}: {} docs in {secs:.2} s = {:.1} docs/s (batch {batch}, max length 256)",
        texts.len(),
        texts.len() as f64 / secs
    );
    Ok(())
}
