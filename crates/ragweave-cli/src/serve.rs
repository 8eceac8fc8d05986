//! `ragweave serve`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use ragweave::qdrant_edge::{EdgeStore, EdgeStoreOptions};
use ragweave::serve::{ServeOptions, Served, Server};
use ragweave::{Error, Result};

use crate::store::LoadedConfig;

/// The defaults the flags below show and fall back to: [`ServeOptions::default`], once.
fn defaults() -> ServeOptions {
    ServeOptions::default()
}

/// Arguments of `ragweave serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// Pipeline config (TOML or JSON): stores, experts, embedders, generators, a reranker.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Store directory, used when the config names no store (created empty if missing, to
    /// be filled through POST /v1/ingest) [default: $RAGWEAVE_STORE or .ragweave/store].
    #[arg(long)]
    store: Option<PathBuf>,
    /// Which of the config's stores POST /v1/ingest writes, when it names several.
    #[arg(long, value_name = "NAME")]
    ingest_into: Option<String>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// The pipeline's model name in chat requests.
    #[arg(long, default_value_t = defaults().model)]
    model: String,
    /// Environment variable holding the bearer token clients must send; unset or empty
    /// serves without auth.
    #[arg(long, default_value = "RAGWEAVE_API_TOKEN")]
    token_env: String,
    /// Largest request body in bytes (413 past it).
    #[arg(long, default_value_t = defaults().max_body_bytes)]
    max_body_bytes: usize,
    /// Requests answered at once; past it, 503 with Retry-After.
    #[arg(long, default_value_t = defaults().max_concurrency)]
    max_concurrency: usize,
    /// Seconds in-flight requests get to finish after SIGTERM or Ctrl-C.
    #[arg(long, default_value_t = defaults().shutdown_grace.as_secs())]
    shutdown_grace_secs: u64,
    /// Seconds a connection gets to send a request's headers, and may stay idle between
    /// requests.
    #[arg(long, default_value_t = defaults().header_read_timeout.as_secs())]
    header_timeout_secs: u64,
    /// Seconds a request's body gets to arrive (408 past it).
    #[arg(long, default_value_t = defaults().body_read_timeout.as_secs())]
    body_timeout_secs: u64,
    /// Seconds from a request's headers to its reply's first byte (504 past it).
    #[arg(long, default_value_t = defaults().request_timeout.as_secs())]
    request_timeout_secs: u64,
    /// Serve an address other than loopback with no token (refused otherwise).
    #[arg(long)]
    allow_public_without_token: bool,
    /// Without a token, a `Host` name requests may carry besides localhost (repeatable).
    #[arg(long = "allowed-host", value_name = "NAME")]
    allowed_hosts: Vec<String>,
}

pub async fn run(args: ServeArgs) -> Result<ExitCode> {
    let registry = ragweave::registry();
    let mut loaded = LoadedConfig::read(args.config.as_deref(), &registry)?;
    let dir = loaded.store_dir(args.store.as_deref())?;
    let searches_default = loaded.config.stores.is_empty() && loaded.config.experts.is_empty();
    if searches_default && !EdgeStore::exists(&dir) {
        // An empty store to ingest into over HTTP; a config's own stores must exist, so a
        // mistyped path is an error rather than a new empty store.
        drop(EdgeStore::open(&dir, EdgeStoreOptions::default())?);
    }
    loaded.with_default_search(&dir)?;
    let built = loaded.build(&registry, false).await?;
    let served = Served::new(built, args.ingest_into.as_deref())?;
    let token = std::env::var(&args.token_env)
        .ok()
        .filter(|t| !t.trim().is_empty());
    let options = ServeOptions {
        model: args.model,
        token,
        max_body_bytes: args.max_body_bytes,
        max_concurrency: args.max_concurrency,
        shutdown_grace: Duration::from_secs(args.shutdown_grace_secs),
        header_read_timeout: Duration::from_secs(args.header_timeout_secs.max(1)),
        body_read_timeout: Duration::from_secs(args.body_timeout_secs.max(1)),
        request_timeout: Duration::from_secs(args.request_timeout_secs.max(1)),
        allow_public_without_token: args.allow_public_without_token,
        allowed_hosts: args.allowed_hosts,
        ..defaults()
    };
    let refused = |source| Error::Io {
        path: args.bind.to_string(),
        source,
    };
    options.check_exposure(args.bind).map_err(refused)?;
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
    let ingest = if served.ingestor().is_some() {
        "ingest on"
    } else {
        "ingest off"
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
        "serving on http://{address} (models: {}; {ingest}; {auth}); OpenAPI at /openapi.json",
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
