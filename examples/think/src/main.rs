//! Reasoning before retrieval (O1 Embedder, arXiv 2502.07555; HyDE): a generator writes a short
//! passage that would answer the question, and BM25 searches with the question and that
//! thought. The example asks ragweave's own notes (docs/corpus.jsonl) one question with and
//! without thinking, and prints the thought and both rankings.
//!
//! `cargo run --release -p think -- [--model FILE.gguf] ["question"]`
//! Without `--model` it writes a tiny model with random weights: everything runs for real, but
//! its thoughts are noise. A small instruct model (Qwen2.5-0.5B in GGUF) writes useful ones.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ragweave::llama_cpp::{LlamaGenerator, LlamaGeneratorOptions};
use ragweave::{
    AskRequest, Bm25Index, Bm25Params, Generator, Pipeline, SamplingParams, ThinkThenRetrieve,
    read_jsonl_corpus,
};

/// The model to think with: `--model`, else a tiny random one written to a temporary file.
fn model(args: &mut Vec<String>) -> Result<(PathBuf, bool), Box<dyn std::error::Error>> {
    if let Some(i) = args.iter().position(|a| a == "--model") {
        let path = args.get(i + 1).ok_or("--model needs a file")?.clone();
        args.drain(i..=i + 1);
        return Ok((path.into(), false));
    }
    let path = std::env::temp_dir().join(format!("ragweave-think-{}.gguf", std::process::id()));
    ragweave_testkit::gguf::DecoderSpec::tiny().write(&path)?;
    Ok((path, true))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let (path, random) = model(&mut args)?;
    let question = args
        .first()
        .cloned()
        .unwrap_or_else(|| "how does ragweave pick which retriever answers?".into());
    if random {
        println!("(no --model: a tiny model with random weights; its thoughts are noise)");
    }
    let llm: Arc<dyn Generator> = Arc::new(LlamaGenerator::load(
        path.to_str().ok_or("model path is not UTF-8")?,
        LlamaGeneratorOptions::default(),
    )?);
    if random {
        std::fs::remove_file(&path).ok();
    }

    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/corpus.jsonl");
    let notes = Arc::new(Bm25Index::new(Bm25Params::default()));
    notes.insert(read_jsonl_corpus(&corpus, None)?)?;

    let think = ThinkThenRetrieve::new(llm)
        .thoughts(1)
        .sampling(SamplingParams {
            max_tokens: 48,
            temperature: 0.0,
            ..SamplingParams::default()
        });
    let thinking = Pipeline::builder()
        .transform(Arc::new(think))
        .expert("notes", notes.clone())
        .build()?;
    let plain = Pipeline::builder().expert("notes", notes).build()?;

    println!("question: {question}");
    let request = || AskRequest::new(question.as_str()).top_k(3);
    let (with, without) = (thinking.ask(request()).await?, plain.ask(request()).await?);
    for thought in with
        .trace
        .stage("transform:think")
        .map(|s| s.notes.clone())
        .unwrap_or_default()
    {
        println!("thought: {}", thought.trim().replace('\n', " "));
    }
    for (label, answer) in [("without thinking", &without), ("with thinking", &with)] {
        println!("{label}:");
        for hit in &answer.hits {
            println!("  {:>6.2}  {}", hit.score, hit.chunk.document_id);
        }
    }
    Ok(())
}
