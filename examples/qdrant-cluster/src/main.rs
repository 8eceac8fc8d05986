//! Switching the store to a Qdrant cluster: a pipeline config whose store is the embedded
//! one (Qdrant Edge, a directory) is built, ragweave's notes are ingested into it and a
//! question asked. Then, with `QDRANT_URL` set, the store is copied into a collection on the
//! server (`ragweave::migrate`, verified by count), the same config is built with its
//! `[stores.notes]` entry changed, and the same question returns the same passages.
//!
//! `QDRANT_URL=http://localhost:6334 cargo run -p qdrant-cluster` (gRPC port; `QDRANT_API_KEY`
//! if the server wants one). Without `QDRANT_URL` only the embedded half runs, and says so.

use std::path::Path;
use std::sync::Arc;

use ragweave::config::PipelineConfig;
use ragweave::ingest::Ingestor;
use ragweave::migrate::migrate;
use ragweave::qdrant::QdrantOptions;
use ragweave::qdrant_edge::{EdgeStore, EdgeStoreOptions};

const QUESTION: &str = "how does the router choose experts?";

/// The config; only the `[stores.notes]` lines differ between the two stores.
fn config(store: &str) -> String {
    format!(
        "candidates = 5\n\n[stores.notes]\n{store}\n\n[experts.notes]\nkind = \"store\"\nstore = \"notes\"\n"
    )
}

async fn top_passages(config: &str, dir: &Path) -> ragweave::Result<Vec<String>> {
    let pipeline = PipelineConfig::from_toml_str(config)?
        .build(&ragweave::registry(), dir)
        .await?;
    let answer = pipeline.ask(QUESTION).await?;
    Ok(answer.hits.iter().map(|h| h.chunk.id.clone()).collect())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let work = tempfile::tempdir()?;
    let notes = work.path().join("notes");
    std::fs::create_dir(&notes)?;
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/corpus.jsonl"),
        notes.join("corpus.jsonl"),
    )?;
    let store = EdgeStore::open(work.path().join("store"), EdgeStoreOptions::default())?;
    let report = Ingestor::new(Arc::new(store.clone()))
        .ingest(&notes)
        .await?;
    println!(
        "embedded store: {} chunks of ragweave's notes",
        report.chunks_written
    );

    let embedded = config("kind = \"qdrant_edge\"\npath = \"store\"");
    let here = top_passages(&embedded, work.path()).await?;
    println!("qdrant_edge answers {QUESTION:?} with {here:?}");

    let Some(url) = std::env::var("QDRANT_URL").ok().filter(|u| !u.is_empty()) else {
        println!("QDRANT_URL is not set: skipped the cluster half (copy, rebuild, ask again)");
        return Ok(());
    };
    let collection = format!("ragweave-example-{}", std::process::id());
    let copied = migrate(
        &store,
        &collection,
        QdrantOptions::at(url.clone()),
        256,
        None,
    )
    .await?;
    println!(
        "copied {} chunks to {url} collection {collection}; verified: {} in the store, {} in the collection",
        copied.copied, copied.source_count, copied.target_count
    );

    let cluster = config(&format!(
        "kind = \"qdrant\"\nurl = \"{url}\"\ncollection = \"{collection}\""
    ));
    let there = top_passages(&cluster, work.path()).await?;
    println!("qdrant answers {QUESTION:?} with {there:?}");
    if here != there {
        return Err("the cluster returned other passages than the embedded store".into());
    }
    println!("same passages from both stores; drop the collection when done: {collection}");
    Ok(())
}
