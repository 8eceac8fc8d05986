//! The chat loop: one question per line, answers streamed, sources after each answer.

use std::io::Write;
use std::path::PathBuf;

use clap::Parser;
use {{crate_name}}::{Agent, AgentOptions};
use tokio::io::{AsyncBufReadExt, BufReader};

/// A chat agent over your documents.
#[derive(Parser)]
struct Args {
    /// A GGUF chat model: a path, or owner/repo/file.gguf on the Hugging Face hub.
    #[arg(long)]
    model: String,
    /// The document store (created if missing).
    #[arg(long, default_value = ".agent/store")]
    store: PathBuf,
    /// Add or update the documents under this path before chatting.
    #[arg(long)]
    ingest: Option<PathBuf>,
    /// Print the thoughts written before each retrieval.
    #[arg(long)]
    show_thoughts: bool,
    /// Most tokens per answer.
    #[arg(long, default_value_t = 512)]
    max_tokens: usize,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let options = AgentOptions {
        max_tokens: args.max_tokens,
        ..AgentOptions::default()
    };
    let mut agent = Agent::open(&args.model, &args.store, options)?;
    if let Some(dir) = &args.ingest {
        let report = agent.ingest(dir).await?;
        eprintln!(
            "ingested {}: {} added, {} updated, {} unchanged, {} failed",
            dir.display(),
            report.added,
            report.updated,
            report.unchanged,
            report.failed.len()
        );
    }
    eprintln!("ask a question; /new starts a new conversation, /quit leaves");
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    loop {
        eprint!("> ");
        let Some(line) = lines.next_line().await? else {
            break;
        };
        match line.trim() {
            "" => continue,
            "/quit" => break,
            "/new" => {
                agent.new_conversation();
                eprintln!("(new conversation)");
                continue;
            }
            question => {
                let turn = agent
                    .ask(question, |piece| {
                        print!("{piece}");
                        std::io::stdout().flush().ok();
                    })
                    .await;
                println!();
                match turn {
                    Ok(turn) => {
                        if args.show_thoughts {
                            for thought in &turn.thoughts {
                                eprintln!("  thought: {}", thought.trim());
                            }
                        }
                        for citation in &turn.answer.citations {
                            eprintln!("  [{}] {}", citation.index, citation.document_id);
                        }
                    }
                    // A failed turn leaves the conversation as it was; the next one can go on.
                    Err(e) => eprintln!("error: {}", e.report()),
                }
            }
        }
    }
    Ok(())
}
