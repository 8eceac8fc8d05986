//! A config-driven pipeline: builds the pipeline `docs/pipeline.toml` describes (hashing
//! embedder, an in-memory expert over ragweave's notes, RRF, long-context reorder, memory,
//! timeouts) with every component kind this build registers, asks it a question, and prints
//! the top passages and each stage's time. Change the file, not the code, to change the
//! pipeline; `ragweave validate docs/pipeline.toml` checks it.
//!
//! `cargo run -p quickstart -- "how does the router choose experts?"`

use std::path::Path;

use ragweave::config::PipelineConfig;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let question = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "how does the router choose experts?".into());
    let config_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/pipeline.toml");
    let config = PipelineConfig::from_path(&config_path)?;
    let base = config_path.parent().expect("config has a directory");
    let pipeline = config.build(&ragweave::registry(), base).await?;
    let answer = pipeline.ask(question.as_str()).await?;
    println!("question: {question}");
    for (rank, hit) in answer.hits.iter().take(3).enumerate() {
        let first_line = hit.chunk.text.lines().next().unwrap_or_default();
        println!(
            "{}. [{}] {:.3}  {first_line}",
            rank + 1,
            hit.chunk.document_id,
            hit.score
        );
    }
    for stage in &answer.trace.stages {
        println!(
            "  {:<16} {:>8.1} µs",
            stage.name,
            stage.duration.as_secs_f64() * 1e6
        );
    }
    if !pipeline.has_generator() {
        println!(
            "(retrieval only: add [generators.<name>] and `generator = \"<name>\"` to generate answers)"
        );
    }
    Ok(())
}
