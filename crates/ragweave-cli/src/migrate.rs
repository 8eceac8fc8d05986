//! `ragweave migrate`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use ragweave::migrate::{MigrateOptions, migrate};
use ragweave::qdrant::{ClusterOptions, QdrantOptions};
use ragweave::qdrant_edge::{EdgeStore, EdgeStoreOptions};
use ragweave::{Error, Result};

/// Arguments of `ragweave migrate`.
#[derive(Args)]
pub struct MigrateArgs {
    /// The embedded store directory to copy.
    #[arg(long)]
    from: PathBuf,
    /// The Qdrant server's gRPC URL, e.g. http://localhost:6334 (https:// for TLS).
    #[arg(long)]
    to: String,
    /// The collection to copy into (created when missing).
    #[arg(long)]
    collection: String,
    /// Environment variable holding the API key.
    #[arg(long, default_value = "QDRANT_API_KEY")]
    api_key_env: String,
    /// Points per batch (and per checkpoint).
    #[arg(long, default_value_t = 256)]
    batch: usize,
    /// Seconds each request may take.
    #[arg(long, default_value_t = 30)]
    timeout_secs: u64,
    /// Shards of a new collection.
    #[arg(long)]
    shards: Option<u32>,
    /// Replicas of each shard of a new collection.
    #[arg(long)]
    replicas: Option<u32>,
    /// Replicas that must apply each write of a new collection.
    #[arg(long)]
    write_consistency: Option<u32>,
}

pub async fn run(args: MigrateArgs) -> Result<ExitCode> {
    if !EdgeStore::exists(&args.from) {
        return Err(Error::NotFound {
            what: "store",
            name: args.from.display().to_string(),
        });
    }
    let from = EdgeStore::open(&args.from, EdgeStoreOptions::default())?;
    let mut to = QdrantOptions::new(&args.to, &args.collection);
    to.api_key = std::env::var(&args.api_key_env)
        .ok()
        .filter(|k| !k.is_empty());
    to.timeout = Duration::from_secs(args.timeout_secs.max(1));
    to.batch_size = args.batch.max(1);
    to.cluster = ClusterOptions {
        shard_number: args.shards,
        replication_factor: args.replicas,
        write_consistency_factor: args.write_consistency,
    };
    let started = Instant::now();
    let report = migrate(
        &from,
        to,
        MigrateOptions {
            batch_size: args.batch,
            checkpoint: None,
        },
    )
    .await?;
    if report.resumed_after > 0 {
        println!(
            "resumed after {} points copied by an earlier run",
            report.resumed_after
        );
    }
    println!(
        "copied {} points from {} to collection `{}` at {} in {:.1} s; verified: {} in the \
         store, {} in the collection",
        report.copied,
        args.from.display(),
        args.collection,
        args.to,
        started.elapsed().as_secs_f64(),
        report.source_count,
        report.target_count
    );
    Ok(ExitCode::SUCCESS)
}
