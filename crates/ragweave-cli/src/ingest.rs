//! `ragweave ingest`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use ragweave::ingest::loader::list_files;
use ragweave::ingest::{Chunker, Ingestor, Loader};
use ragweave::{Error, Report, Result, bm25_tokens};

use crate::store::{LoadedConfig, store};

/// Arguments of `ragweave ingest`.
#[derive(Args)]
pub struct IngestArgs {
    /// File or directory to ingest (txt, md, json, jsonl, html).
    path: PathBuf,
    /// Store directory, when the config names no store
    /// [default: $RAGWEAVE_STORE or .ragweave/store].
    #[arg(long)]
    store: Option<PathBuf>,
    /// Pipeline config whose `[stores]` entry (any kind: embedded, a Qdrant server, ...)
    /// is written, with that store's embedder.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Which of the config's stores to write, when it names several.
    #[arg(long, value_name = "NAME")]
    into: Option<String>,
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
    /// Average chunk length in BM25 tokens for BM25's length normalisation, or `auto` to
    /// estimate it from the documents being ingested (a whole-document estimate: exact when
    /// documents fit in one chunk); sets the store's `bm25_avg_len`. Fixed when the store is
    /// created [default: 256].
    #[arg(long, value_name = "TOKENS|auto")]
    bm25_avg_len: Option<String>,
    /// After writing, skip building the engine's search indexes (HNSW, sparse), which makes
    /// large stores several times faster to search.
    #[arg(long)]
    no_optimize: bool,
}

pub async fn run(args: IngestArgs) -> Result<ExitCode> {
    let registry = ragweave::registry();
    let mut loaded = LoadedConfig::read(args.config.as_deref(), &registry)?;
    let dir = loaded.store_dir(args.store.as_deref())?;
    loaded.with_default_store(&dir)?;
    let name = loaded.store_name(args.into.as_deref())?;
    let loader = Loader {
        max_file_bytes: args.max_file_mb << 20,
        ..Loader::default()
    };
    let avg_len = match args.bm25_avg_len.as_deref() {
        None => None,
        Some("auto") => Some(average_bm25_tokens(&args.path, &loader)?),
        Some(n) => Some(n.parse::<f32>().map_err(|_| {
            Error::invalid(
                "--bm25-avg-len",
                format!("`{n}` is neither a number nor `auto`"),
            )
        })?),
    };
    if let Some(avg) = avg_len {
        // The store's own field, so a kind without one says so at its path.
        let spec = loaded.config.stores.get_mut(&name).expect("named store");
        spec.params.insert("bm25_avg_len".into(), avg.into());
        loaded.config.validate(&registry)?;
    }
    let components = loaded.build_stores(&registry).await?;
    let store = store(&components, &name)?;
    let embedder = store.embedder();
    let chunker = Chunker::for_embedder(embedder.as_deref(), args.max_tokens, args.overlap)?;
    let ingestor = Ingestor::new(Arc::clone(&store))
        .chunker(chunker)
        .loader(loader)
        .batch_size(args.batch)
        .progress(!args.quiet);
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
        "store {} ({}) holds {} chunks ({mode}){optimized}",
        store.location(),
        store.name(),
        store.count().await?,
    );
    for e in &r.skipped {
        eprintln!("warning: {}", Report::of(e));
    }
    for e in &r.failed {
        eprintln!("error: {}", Report::of(e));
    }
    Ok(if r.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Mean BM25 tokens per document under `path` (ragweave's tokenizer: words without
/// stopwords, the count Qdrant's tokenizer also gives up to its stopword list).
fn average_bm25_tokens(path: &std::path::Path, loader: &Loader) -> Result<f32> {
    let bad = |e: ragweave::ingest::IngestError| {
        Error::invalid("--bm25-avg-len", ragweave::Report::of(&e).to_string())
    };
    let (mut tokens, mut docs) = (0usize, 0usize);
    for file in list_files(path).map_err(bad)?.files {
        for d in loader.load(&file).map_err(bad)? {
            tokens += bm25_tokens(&d.document.text).count();
            docs += 1;
        }
    }
    if docs == 0 || tokens == 0 {
        return Err(Error::invalid(
            "--bm25-avg-len",
            format!("`auto` found no words under {}", path.display()),
        ));
    }
    Ok((tokens as f32 / docs as f32).round().max(1.0))
}
