//! A conversation with windowed memory: each question is asked within one conversation, so the
//! model is shown the earlier exchanges that fit the memory's token budget, newest first to
//! go in, oldest first to fall out. The example asks three questions over ragweave's notes and
//! prints what memory recalls before each.
//!
//! `cargo run --release -p memory-chat -- [--model FILE.gguf] [--budget TOKENS]`
//! Without `--model` it writes a tiny model with random weights (answers are noise).

use std::path::Path;
use std::sync::Arc;

use ragweave::llama_cpp::{LlamaGenerator, LlamaGeneratorOptions};
use ragweave::{
    AskRequest, Bm25Index, Bm25Params, Memory, Pipeline, Query, SamplingParams, WindowMemory,
    read_jsonl_corpus,
};

fn flag(args: &[String], name: &str) -> Option<String> {
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1).cloned()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let budget: usize = flag(&args, "--budget").map_or(Ok(40), |b| b.parse())?;
    let model = match flag(&args, "--model") {
        Some(path) => path,
        None => {
            println!("(no --model: a tiny model with random weights; its answers are noise)");
            let path =
                std::env::temp_dir().join(format!("ragweave-chat-{}.gguf", std::process::id()));
            ragweave_testkit::gguf::DecoderSpec::tiny().write(&path)?;
            path.display().to_string()
        }
    };
    let llm = Arc::new(LlamaGenerator::load(
        &model,
        LlamaGeneratorOptions::default(),
    )?);

    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/corpus.jsonl");
    let notes = Bm25Index::new(Bm25Params::default());
    notes.insert(read_jsonl_corpus(&corpus, None)?)?;
    let memory = Arc::new(WindowMemory::new(budget));
    let pipeline = Pipeline::builder()
        .expert("notes", Arc::new(notes))
        .generator(llm)
        .memory(memory.clone())
        .sampling(SamplingParams {
            max_tokens: 24,
            temperature: 0.0,
            ..SamplingParams::default()
        })
        .build()?;

    for question in [
        "What is the embedded store?",
        "How does it search?",
        "And how is an answer's context ordered?",
    ] {
        let recalled = memory.load("demo", &Query::new(question)).await?;
        println!(
            "\nmemory recalls {} messages (budget {budget} tokens)",
            recalled.len()
        );
        for message in &recalled {
            let short: String = message.content.chars().take(60).collect();
            println!("  {:?}: {}", message.role, short.replace('\n', " "));
        }
        let answer = pipeline
            .ask(AskRequest::new(question).conversation("demo"))
            .await?;
        println!("Q: {question}\nA: {}", answer.text.replace('\n', " "));
    }
    if flag(&args, "--model").is_none() {
        std::fs::remove_file(&model).ok();
    }
    Ok(())
}
