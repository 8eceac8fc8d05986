//! `ragweave ingest`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use ragweave::ingest::{Chunker, Ingestor, Loader};
use ragweave::{ChunkStore, Result};

use crate::store::{LoadedConfig, open_for_ingest};

/// Arguments of `ragweave ingest`.
#[derive(Args)]
pub struct IngestArgs {
    /// File or directory to ingest (txt, md, json, jsonl, html).
    path: PathBuf,
    /// Store directory [default: $RAGWEAVE_STORE or .ragweave/store].
    #[arg(long)]
    store: Option<PathBuf>,
    /// Pipeline config whose `qdrant_edge` expert names the store and its embedder.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Largest chunk, in the embedder's tokens (estimated without one).
    #[arg(long, default_value_t = 256)]
    max_tokens: usize,
    /// Tokens each chunk repeats from the one before.
    #[arg(long, default_value_t = 32)]
    overlap: usize,
    /// Chunks per embed-and-write batch.
    #[arg(long, default_value_t = 256)]
    batch: usize,
    /// Refuse files larger than this many MiB.
    #[arg(long, default_value_t = 32)]
    max_file_mb: u64,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// After writing, skip building the engine's search indexes (HNSW, sparse), which makes
    /// large stores several times faster to search.
    #[arg(long)]
    no_optimize: bool,
}

pub async fn run(args: IngestArgs) -> Result<ExitCode> {
    let registry = ragweave::registry();
    let loaded = LoadedConfig::read(args.config.as_deref(), &registry)?;
    let (store, embedder) = open_for_ingest(&loaded, &registry, args.store.as_deref()).await?;
    let max_tokens = embedder
        .as_ref()
        .and_then(|e| e.max_input_tokens())
        .map_or(args.max_tokens, |m| m.min(args.max_tokens));
    let chunker = match embedder.as_ref().and_then(|e| e.token_counter()) {
        Some(counter) => Chunker::with_counter(max_tokens, args.overlap, counter)?,
        None => Chunker::new(max_tokens, args.overlap)?,
    };
    let mut ingestor = Ingestor::new(Arc::new(store.clone()))
        .chunker(chunker)
        .loader(Loader {
            max_file_bytes: args.max_file_mb << 20,
        })
        .batch_size(args.batch)
        .progress(!args.quiet);
    if let Some(e) = embedder.clone() {
        ingestor = ingestor.embedder(e);
    }
    let r = ingestor.ingest(&args.path).await?;
    // Also after a run that wrote nothing: the last one may have been killed while indexing.
    let optimized = if !args.no_optimize {
        let started = std::time::Instant::now();
        store.optimize().await?;
        Some(started.elapsed().as_secs_f64())
    } else {
        None
    };
    let secs = r.elapsed.as_secs_f64();
    println!(
        "ingested {}: {} files, {} documents ({} added, {} updated, {} unchanged, {} removed); \
         {} chunks written, {} deleted; {} skipped, {} failed; {:.2} s ({:.0} docs/s)",
        args.path.display(),
        r.files,
        r.documents,
        r.added,
        r.updated,
        r.unchanged,
        r.removed,
        r.chunks_written,
        r.chunks_deleted,
        r.skipped.len(),
        r.failed.len(),
        secs,
        r.documents as f64 / secs.max(1e-9),
    );
    let mode = match &embedder {
        Some(e) => format!("hybrid: BM25 + {}", e.model_id()),
        None => "BM25 only; configure an embedder for hybrid search".into(),
    };
    let optimized = optimized.map_or(String::new(), |s| format!("; indexes built in {s:.2} s"));
    println!(
        "store {} holds {} chunks ({mode}){optimized}",
        store.path().display(),
        store.count().await?
    );
    for e in &r.skipped {
        eprintln!("warning: {e}");
    }
    for e in &r.failed {
        eprintln!("error: {e}");
    }
    Ok(if r.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
