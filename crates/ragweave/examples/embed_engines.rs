//! all-MiniLM-L6-v2 on two engines, side by side in one run: the candle plugin (safetensors)
//! and the llama.cpp plugin (the same weights converted to GGUF f32 by the testkit), on the
//! same SciFact documents (title + text), batches of 32, max length 256, alternating.
//!
//! `cargo run --release -p ragweave --features candle,llama-cpp --example embed_engines [N]`
//! (or `bash benches/embed_engines.sh`); needs `scripts/fetch-minilm.sh` first.

use std::time::Instant;

use ragweave::candle::{CandleEmbedder, CandleEmbedderOptions, EngineOptions};
use ragweave::llama_cpp::{EncoderOptions, LlamaEmbedder, LlamaEmbedderOptions};
use ragweave::{EmbedInput, Embedder, read_jsonl_corpus};

const BATCH: usize = 32;

async fn rate(e: &dyn Embedder, texts: &[String]) -> f64 {
    let start = Instant::now();
    for batch in texts.chunks(BATCH) {
        std::hint::black_box(e.embed(batch, EmbedInput::DOCUMENT).await.unwrap());
    }
    texts.len() as f64 / start.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args().nth(1).map_or(300, |a| a.parse().unwrap());
    let datasets =
        std::env::var("RAGWEAVE_DATASETS").unwrap_or_else(|_| "../shared/datasets".into());
    let corpus = std::path::Path::new(&datasets).join("scifact/corpus.jsonl");
    let texts: Vec<String> = read_jsonl_corpus(&corpus, Some(n))
        .unwrap()
        .into_iter()
        .map(|c| c.text)
        .collect();
    let minilm = ragweave_testkit::models::minilm();
    let dir = tempfile::tempdir().unwrap();
    let gguf = dir.path().join("all-MiniLM-L6-v2.gguf");
    ragweave_testkit::gguf::convert_bert(&minilm, &gguf).unwrap();
    let candle = CandleEmbedder::load(
        minilm.to_str().unwrap(),
        CandleEmbedderOptions {
            engine: EngineOptions {
                max_length: Some(256),
                ..Default::default()
            },
            batch_size: BATCH,
            ..Default::default()
        },
    )
    .unwrap();
    let llama = LlamaEmbedder::load(
        gguf.to_str().unwrap(),
        LlamaEmbedderOptions {
            encoder: EncoderOptions {
                max_length: Some(256),
                max_sequences: BATCH as u32,
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .unwrap();
    let llama_fa = LlamaEmbedder::load(
        gguf.to_str().unwrap(),
        LlamaEmbedderOptions {
            encoder: EncoderOptions {
                max_length: Some(256),
                max_sequences: BATCH as u32,
                flash_attention: true,
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .unwrap();
    // Warm-up, and the engines agree on what they compute.
    let a = candle
        .embed(&texts[..BATCH], EmbedInput::DOCUMENT)
        .await
        .unwrap();
    let b = llama
        .embed(&texts[..BATCH], EmbedInput::DOCUMENT)
        .await
        .unwrap();
    let lowest = a
        .iter()
        .zip(&b)
        .map(|(x, y)| x.iter().zip(y).map(|(p, q)| p * q).sum::<f32>())
        .fold(1.0f32, f32::min);
    llama_fa
        .embed(&texts[..BATCH], EmbedInput::DOCUMENT)
        .await
        .unwrap();
    let (mut c, mut l, mut f) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..2 {
        c.push(rate(&candle, &texts).await);
        l.push(rate(&llama, &texts).await);
        f.push(rate(&llama_fa, &texts).await);
    }
    let best = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    println!(
        "all-MiniLM-L6-v2, {} SciFact docs, batch {BATCH}, max length 256 (lowest cosine between engines {lowest:.6})",
        texts.len()
    );
    println!(
        "ragweave-candle f32 (safetensors)     {:6.1} docs/s",
        best(&c)
    );
    println!(
        "ragweave-llama-cpp f32 (GGUF)         {:6.1} docs/s",
        best(&l)
    );
    println!(
        "ragweave-llama-cpp f32, flash attn  {:6.1} docs/s",
        best(&f)
    );
    println!(
        "llama.cpp / candle = {:.2}x (exact attention), {:.2}x (flash attention)",
        best(&l) / best(&c),
        best(&f) / best(&c)
    );
}
