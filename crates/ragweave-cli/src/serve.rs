//! `ragweave serve`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use ragweave::ingest::{Chunker, Ingestor};
use ragweave::qdrant_edge::{DenseSpec, EdgeStore, EdgeStoreOptions};
use ragweave::serve::{ServeOptions, Served, Server};
use ragweave::{Error, Result};

use crate::store::{LoadedConfig, default_store};

/// Arguments of `ragweave serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// Pipeline config (TOML or JSON): experts, embedders, generators, a reranker.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Store directory, used when the config has no experts (created empty if missing, to
    /// be filled through POST /v1/ingest) [default: $RAGWEAVE_STORE or .ragweave/store].
    #[arg(long)]
    store: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// The pipeline's model name in chat requests.
    #[arg(long, default_value = "ragweave")]
    model: String,
    /// Environment variable holding the bearer token clients must send; unset or empty
    /// serves without auth.
    #[arg(long, default_value = "RAGWEAVE_API_TOKEN")]
    token_env: String,
    /// Largest request body in bytes (413 past it).
    #[arg(long, default_value_t = 8 << 20)]
    max_body_bytes: usize,
    /// Requests answered at once; past it, 503 with Retry-After.
    #[arg(long, default_value_t = 64)]
    max_concurrency: usize,
    /// Seconds in-flight requests get to finish after SIGTERM or Ctrl-C.
    #[arg(long, default_value_t = 30)]
    shutdown_grace_secs: u64,
}

pub async fn run(args: ServeArgs) -> Result<ExitCode> {
    let registry = ragweave::registry();
    let mut loaded = LoadedConfig::read(args.config.as_deref(), &registry)?;
    if loaded.config.experts.is_empty() {
        let store = args.store.clone().unwrap_or_else(default_store);
        if !EdgeStore::exists(&store) {
            // An empty store to ingest into over HTTP.
            drop(EdgeStore::open(&store, EdgeStoreOptions::default())?);
        }
        loaded.ensure_expert(&store)?;
    }
    let built = loaded.config.build_parts(&registry, &loaded.base).await?;
    let mut served = Served::new(built.pipeline);
    served.generators = built.generators;
    served.embedders = built.embedders;
    if let Some(r) = built.reranker {
        served.rerankers.insert("reranker".into(), r);
    }
    served.ingestor = ingestor(&loaded, &served)?;
    let token = std::env::var(&args.token_env)
        .ok()
        .filter(|t| !t.trim().is_empty());
    let options = ServeOptions {
        model: args.model,
        token,
        max_body_bytes: args.max_body_bytes,
        max_concurrency: args.max_concurrency,
        shutdown_grace: Duration::from_secs(args.shutdown_grace_secs),
        ..ServeOptions::default()
    };
    let auth = if options.token.is_some() {
        format!("bearer token from ${}", args.token_env)
    } else {
        format!("no auth (set ${} to require a token)", args.token_env)
    };
    let models: Vec<String> = served
        .models(&options.model)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let ingest = if served.ingestor.is_some() {
        "on"
    } else {
        "off"
    };
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .map_err(|source| Error::Io {
            path: args.bind.to_string(),
            source,
        })?;
    let address = listener.local_addr().map_err(|source| Error::Io {
        path: args.bind.to_string(),
        source,
    })?;
    // One line a script can wait for (tests read the port from it).
    println!(
        "serving on http://{address} (models: {}; ingest {ingest}; {auth}); OpenAPI at /openapi.json",
        models.join(", ")
    );
    Server::new(served, options)
        .run(listener, ragweave::serve::shutdown_signal())
        .await
        .map_err(|source| Error::Io {
            path: address.to_string(),
            source,
        })?;
    println!("stopped: in-flight requests finished");
    Ok(ExitCode::SUCCESS)
}

/// Ingestion into the config's first `qdrant_edge` expert's store, with its embedder (the
/// store handle is the retriever's: one process shares one).
fn ingestor(loaded: &LoadedConfig, served: &Served) -> Result<Option<Arc<Ingestor>>> {
    let Some((name, expert)) = loaded.edge_expert()? else {
        return Ok(None);
    };
    let embedder = match &expert.embedder {
        Some(e) => Some(served.embedders.get(e).cloned().ok_or_else(|| {
            Error::config(
                format!("experts.{name}.embedder"),
                format!("no embedder named `{e}`"),
            )
        })?),
        None => None,
    };
    let dense = embedder.as_ref().map(|e| DenseSpec {
        model: e.model_id().to_string(),
        dimension: e.dimension(),
    });
    let store = EdgeStore::open(
        loaded.base.join(&expert.path),
        EdgeStoreOptions {
            dense,
            ..EdgeStoreOptions::default()
        },
    )?;
    // What `ragweave ingest` does by default: 256-token chunks, 32 of overlap.
    let chunker = Chunker::for_embedder(embedder.as_deref(), 256, 32)?;
    let mut ingestor = Ingestor::new(Arc::new(store)).chunker(chunker);
    if let Some(e) = embedder {
        ingestor = ingestor.embedder(e);
    }
    Ok(Some(Arc::new(ingestor)))
}
