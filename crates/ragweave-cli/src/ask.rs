//! `ragweave ask`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use futures::StreamExt;
use ragweave::{Answer, AskEvent, Generator, Pipeline, Query, Result};

use crate::store::LoadedConfig;

/// Arguments of `ragweave ask`.
#[derive(Args)]
pub struct AskArgs {
    /// The question.
    question: String,
    /// Store directory, used when the config names no store
    /// [default: $RAGWEAVE_STORE or .ragweave/store].
    #[arg(long)]
    store: Option<PathBuf>,
    /// Pipeline config (TOML or JSON): experts, embedders, a generator.
    #[arg(long)]
    config: Option<PathBuf>,
    /// How many passages to retrieve.
    #[arg(long, default_value_t = 5)]
    top_k: usize,
    /// Print the answer, citations, hits and trace as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: AskArgs) -> Result<ExitCode> {
    let registry = ragweave::registry();
    let mut loaded = LoadedConfig::read(args.config.as_deref(), &registry)?;
    let store = loaded.store_dir(args.store.as_deref())?;
    loaded.with_default_search(&store)?;
    let pipeline = loaded.build(&registry, false).await?.pipeline;
    let query = Query::new(args.question.as_str()).top_k(args.top_k);
    let generated = pipeline.has_generator();
    if generated && !args.json {
        return stream_answer(&pipeline, query).await;
    }
    let answer = pipeline.ask(query).await?;
    if args.json {
        let mut value = serde_json::to_value(&answer).expect("answers serialize");
        value["question"] = args.question.clone().into();
        value["generated"] = generated.into();
        println!(
            "{}",
            serde_json::to_string_pretty(&value).expect("JSON prints")
        );
    } else {
        print_passages(&answer, &registry.kinds::<dyn Generator>());
    }
    Ok(ExitCode::SUCCESS)
}

fn source(hit: &ragweave::Hit) -> String {
    // A file's document id is its absolute `file://` URL; its `source` (the path from the
    // ingested folder's parent) reads better, with a JSONL record's `#id` after it.
    let id = &hit.chunk.document_id;
    let named = hit.chunk.metadata.get("source").and_then(|s| s.as_str());
    let source = match named {
        Some(name) if id.starts_with(ragweave::ingest::loader::FILE_ID_SCHEME) => {
            match id.split_once('#') {
                Some((_, record)) => format!("{name}#{record}"),
                None => name.to_string(),
            }
        }
        _ => id.clone(),
    };
    match hit.chunk.metadata.get("chunk") {
        Some(n) => format!("{source}, chunk {n}"),
        None => source.to_string(),
    }
}

/// Prints the answer token by token as the generator writes it, then its sources.
async fn stream_answer(pipeline: &Pipeline, query: Query) -> Result<ExitCode> {
    let mut events = pipeline.ask_stream(query);
    let mut stdout = std::io::stdout();
    while let Some(event) = events.next().await {
        let text = match event? {
            AskEvent::Hits(_) => continue,
            AskEvent::Token(piece) => piece,
            AskEvent::Done(answer) => format!("\n\n{}", sources(&answer)),
        };
        // A closed pipe (`| head`) ends the answer early; that is not an error.
        if stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
            .is_err()
        {
            return Ok(ExitCode::SUCCESS);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The answer's citations, one line each, after a `Sources:` heading.
fn sources(answer: &Answer) -> String {
    let mut out = String::from("Sources:\n");
    for c in &answer.citations {
        let hit = answer.hits.iter().find(|h| h.chunk.id == c.chunk_id);
        let label = hit.map(source).unwrap_or_else(|| c.document_id.clone());
        out.push_str(&format!("  [{}] {label}\n", c.index));
    }
    out
}

fn print_passages(answer: &Answer, generators: &[&str]) {
    if answer.hits.is_empty() {
        println!("No passage matched.");
    }
    for (i, hit) in answer.hits.iter().enumerate() {
        println!("[{}] {} (score {:.3})", i + 1, source(hit), hit.score);
        let text: String = hit
            .chunk
            .text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let shown: String = text.chars().take(400).collect();
        let more = if shown.len() < text.len() { " ..." } else { "" };
        println!("    {shown}{more}\n");
    }
    let kinds = if generators.is_empty() {
        "this build registers no generator kind yet; the llama.cpp, mistral.rs and \
         OpenAI-compatible plugins add them"
            .to_string()
    } else {
        format!("generator kinds in this build: {}", generators.join(", "))
    };
    eprintln!(
        "No generator is configured, so these are the retrieved passages. To get an answer, \
         pass --config with a [generators.<name>] entry and `generator = \"<name>\"` \
         ({kinds}; `ragweave schema` lists every option)."
    );
}
