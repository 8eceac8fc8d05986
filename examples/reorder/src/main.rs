//! Long-context reordering (arXiv 2410.05983): retrieves SciFact passages for a claim with
//! BM25, then shows where `LongContextReorder` puts them in the prompt: the best first, the
//! second best last, the weakest in the middle, where models read least carefully.
//!
//! `cargo run -p reorder -- [DATASET_DIR] ["a claim"]` (default: ../shared/datasets/scifact)

use std::path::PathBuf;
use std::sync::Arc;

use ragweave::{
    AskRequest, Bm25Index, Bm25Params, ContextArranger, ContextBudget, LongContextReorder,
    Pipeline, PromptTemplate, Query, read_jsonl_corpus,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dataset = args.next().map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets/scifact")
    });
    let claim = args
        .next()
        .unwrap_or_else(|| "Vitamin D deficiency raises the risk of fractures.".into());

    let bm25 = Bm25Index::new(Bm25Params::default());
    bm25.insert(read_jsonl_corpus(&dataset.join("corpus.jsonl"), None)?)?;
    let pipeline = Pipeline::builder()
        .expert("scifact", Arc::new(bm25))
        .build()?;
    let hits = pipeline
        .retrieve(AskRequest::new(claim.as_str()).top_k(8))
        .await?;

    println!("claim: {claim}\n\nranked by BM25:");
    for (rank, hit) in hits.iter().enumerate() {
        println!(
            "  {}. {:>6.2}  {}",
            rank + 1,
            hit.score,
            hit.chunk.document_id
        );
    }

    // What a generating pipeline does between retrieval and the prompt (`.arranger(..)`).
    let reorder = LongContextReorder {
        budget: ContextBudget {
            max_passages: Some(8),
            ..ContextBudget::default()
        },
    };
    let arranged = reorder.arrange(&Query::new(claim.as_str()), hits.clone());
    let ranks: Vec<usize> = arranged
        .iter()
        .map(|a| {
            1 + hits
                .iter()
                .position(|h| h.chunk.id == a.chunk.id)
                .unwrap_or(0)
        })
        .collect();
    let shown: Vec<String> = ranks.iter().map(usize::to_string).collect();
    println!("\nprompt order (by rank): {}", shown.join(" "));

    let messages = PromptTemplate::default().render(&claim, &arranged, Vec::new());
    let prompt = &messages.last().expect("a user message").content;
    println!("\nthe prompt's passages, first and last lines:");
    for line in prompt.lines().filter(|l| l.starts_with('[')) {
        let short: String = line.chars().take(90).collect();
        println!("  {short}");
    }
    Ok(())
}
