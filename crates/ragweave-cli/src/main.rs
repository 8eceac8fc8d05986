//! The `ragweave` command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ragweave::config::PipelineConfig;

mod ask;
mod eval;
mod fit;
mod fit_fusion;
mod ingest;
mod migrate;
mod serve;
mod store;

/// ragweave: plugin-based RAG orchestration.
///
/// Logs go to stderr, filtered by `$RUST_LOG` (default `warn`; e.g.
/// `RUST_LOG=ragweave=debug`).
#[derive(Parser)]
#[command(name = "ragweave", version, about)]
struct Cli {
    /// Log lines as JSON objects, one per line (for log collectors), instead of text.
    #[arg(long, global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

/// Installs the log subscriber: `$RUST_LOG`'s filter (default `warn`), to stderr.
fn init_logs(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if json {
        logs.json().init();
    } else {
        logs.init();
    }
}

#[derive(Subcommand)]
enum Command {
    /// Print the JSON Schema of pipeline config files (every compiled-in component kind).
    Schema {
        /// Print the config reference in Markdown instead (the docs' reference page).
        #[arg(long)]
        markdown: bool,
    },
    /// Check a pipeline config file without loading any model.
    Validate {
        /// The config file (.toml or .json).
        config: PathBuf,
    },
    /// Ingest files into a store; unchanged files cost nothing, an interrupted run resumes.
    Ingest(ingest::IngestArgs),
    /// Ask a question: an answer with citations, or the retrieved passages when no generator
    /// is configured.
    Ask(ask::AskArgs),
    /// Evaluate pipelines on a BEIR dataset: nDCG, recall, MRR, MAP and stage latencies,
    /// several configs side by side.
    Eval(eval::EvalArgs),
    /// Fit a pilot router's pilots on labelled queries: each training query goes to the
    /// config's expert that serves it best.
    FitPilots(fit::FitArgs),
    /// Fit per-query fusion weights (`[fusion.adaptive]`) on labelled queries: signals of the
    /// experts' lists, chosen by cross-validated forward selection.
    FitFusion(fit_fusion::FitFusionArgs),
    /// Copy one store into another (two stores of a config, or an embedded store into a
    /// Qdrant server or cluster collection); resumable, verified by count.
    Migrate(migrate::MigrateArgs),
    /// Serve a pipeline over HTTP: OpenAI-compatible chat with citations, embeddings,
    /// rerank, retrieve, ingest, metrics, OpenAPI.
    Serve(serve::ServeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs(cli.log_json);
    let registry = ragweave::registry();
    match cli.command {
        Command::Schema { markdown: true } => {
            print!("{}", registry.reference_markdown());
            ExitCode::SUCCESS
        }
        Command::Schema { markdown: false } => {
            let schema = registry.schema();
            println!(
                "{}",
                serde_json::to_string_pretty(&schema).expect("schema serializes")
            );
            ExitCode::SUCCESS
        }
        Command::Validate { config } => {
            match PipelineConfig::from_path(&config).and_then(|c| c.validate(&registry)) {
                Ok(()) => {
                    println!("{}: valid", config.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {}", e.report());
                    ExitCode::FAILURE
                }
            }
        }
        Command::Ingest(args) => block_on(ingest::run(args)),
        Command::Ask(args) => block_on(ask::run(args)),
        Command::Eval(args) => block_on(eval::run(args)),
        Command::FitPilots(args) => block_on(fit::run(args)),
        Command::FitFusion(args) => block_on(fit_fusion::run(args)),
        Command::Migrate(args) => block_on(migrate::run(args)),
        Command::Serve(args) => block_on(serve::run(args)),
    }
}

fn block_on(work: impl Future<Output = ragweave::Result<ExitCode>>) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime starts");
    match runtime.block_on(work) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", e.report());
            ExitCode::FAILURE
        }
    }
}
