//! `ragweave migrate`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use ragweave::ingest::{MigrateOptions, MigrateReport};
use ragweave::qdrant::{ClusterOptions, QdrantOptions};
use ragweave::qdrant_edge::{EdgeStore, EdgeStoreOptions};
use ragweave::{ChunkStore, Error, Result};

use crate::store::{LoadedConfig, store};

/// Arguments of `ragweave migrate`: two stores of a config (`--config`, `--from NAME
/// --to NAME`, any kinds), or an embedded store directory and a Qdrant server
/// (`--from DIR --to URL --collection NAME`).
#[derive(Args)]
pub struct MigrateArgs {
    /// A config whose `[stores]` name both stores.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The store to copy: its name under `[stores]`, or without `--config` an embedded
    /// store's directory.
    #[arg(long)]
    from: String,
    /// Where to copy: a name under `[stores]` (created when missing), or without
    /// `--config` a Qdrant server's gRPC URL, e.g. http://localhost:6334 (https:// for TLS).
    #[arg(long)]
    to: String,
    /// Without `--config`: the collection to copy into (created when missing).
    #[arg(long, required_unless_present = "config")]
    collection: Option<String>,
    /// Without `--config`: the environment variable holding the API key.
    #[arg(long, default_value = "QDRANT_API_KEY")]
    api_key_env: String,
    /// Chunks per batch (and per checkpoint).
    #[arg(long, default_value_t = 256)]
    batch: usize,
    /// Without `--config`: seconds each request may take.
    #[arg(long, default_value_t = 30)]
    timeout_secs: u64,
    /// Without `--config`: shards of a new collection.
    #[arg(long)]
    shards: Option<u32>,
    /// Without `--config`: replicas of each shard of a new collection.
    #[arg(long)]
    replicas: Option<u32>,
    /// Without `--config`: replicas that must apply each write of a new collection.
    #[arg(long)]
    write_consistency: Option<u32>,
    /// Where progress is kept [default: beside the config, or in the store's directory].
    #[arg(long)]
    checkpoint: Option<PathBuf>,
}

pub async fn run(args: MigrateArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let (report, from, to) = match &args.config {
        Some(path) => between_config_stores(&args, path).await?,
        None => into_a_server(&args).await?,
    };
    if report.resumed_after > 0 {
        println!(
            "resumed after {} chunks copied by an earlier run",
            report.resumed_after
        );
    }
    println!(
        "copied {} chunks from {from} to {to} in {:.1} s; verified: {} in the source, {} in \
         the target",
        report.copied,
        started.elapsed().as_secs_f64(),
        report.source_count,
        report.target_count
    );
    Ok(ExitCode::SUCCESS)
}

async fn between_config_stores(
    args: &MigrateArgs,
    path: &std::path::Path,
) -> Result<(MigrateReport, String, String)> {
    let registry = ragweave::registry();
    let loaded = LoadedConfig::read(Some(path), &registry)?;
    for name in [&args.from, &args.to] {
        loaded.store_name(Some(name))?;
    }
    let components = loaded.build_stores(&registry).await?;
    let (from, to) = (
        store(&components, &args.from)?,
        store(&components, &args.to)?,
    );
    let checkpoint = args.checkpoint.clone().unwrap_or_else(|| {
        loaded
            .base
            .join(format!("ragweave-migrate-{}-{}.json", args.from, args.to))
    });
    let options = MigrateOptions {
        batch_size: args.batch,
        checkpoint,
    };
    let report = ragweave::ingest::migrate(from.as_ref(), to.as_ref(), &options).await?;
    Ok((report, from.location(), to.location()))
}

async fn into_a_server(args: &MigrateArgs) -> Result<(MigrateReport, String, String)> {
    let collection = args
        .collection
        .clone()
        .expect("clap requires it without --config");
    if !EdgeStore::exists(&args.from) {
        return Err(Error::NotFound {
            what: "store",
            name: args.from.clone(),
        });
    }
    let from = EdgeStore::open(&args.from, EdgeStoreOptions::default())?;
    let to = QdrantOptions {
        url: Some(args.to.clone()),
        api_key_env: args.api_key_env.clone(),
        timeout: Duration::from_secs(args.timeout_secs.max(1)),
        batch_size: args.batch.max(1),
        cluster: ClusterOptions {
            shard_number: args.shards,
            replication_factor: args.replicas,
            write_consistency_factor: args.write_consistency,
        },
        ..QdrantOptions::default()
    };
    let report =
        ragweave::migrate::migrate(&from, &collection, to, args.batch, args.checkpoint.clone())
            .await?;
    Ok((
        report,
        from.location(),
        format!("collection `{collection}` at {}", args.to),
    ))
}
