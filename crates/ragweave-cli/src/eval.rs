//! `ragweave eval`: pipelines on a BEIR dataset, side by side.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use ragweave::Result;
use ragweave::eval::{Dataset, EvalOptions, Metric, Report, evaluate_pipeline};

use crate::store::LoadedConfig;

/// Arguments of `ragweave eval`.
#[derive(Args)]
pub struct EvalArgs {
    /// BEIR dataset directory: corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv.
    #[arg(long)]
    dataset: PathBuf,
    /// A pipeline config to evaluate; repeat to compare several (named by file stem).
    #[arg(long = "config", required = true)]
    configs: Vec<PathBuf>,
    /// Which qrels file judges the queries.
    #[arg(long, default_value = "test")]
    split: String,
    /// Judge by the queries' evidence metadata (SciFact's training labels) instead, leaving
    /// out every query judged in --split.
    #[arg(long)]
    evidence: bool,
    /// A metric, e.g. ndcg@10; repeatable. Default: ndcg@10, recall@100, mrr@10, map@10.
    #[arg(long = "metric")]
    metrics: Vec<String>,
    /// Documents retrieved per query [default: the largest cut-off].
    #[arg(long)]
    depth: Option<usize>,
    /// Queries in flight at once; 1 gives latencies without queueing.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// Drop a retrieved document whose id is the query's (ArguAna).
    #[arg(long)]
    drop_self_hits: bool,
    /// Evaluate only the first N judged queries.
    #[arg(long)]
    limit: Option<usize>,
    /// Directory for report.json, report.md, report.svg and one TREC run file per config.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also report the per-query best of these configs (comma-separated names): the
    /// ceiling a router among them could reach.
    #[arg(long, value_delimiter = ',')]
    oracle: Vec<String>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

pub async fn run(args: EvalArgs) -> Result<ExitCode> {
    let metrics = if args.metrics.is_empty() {
        Metric::defaults()
    } else {
        args.metrics
            .iter()
            .map(|m| m.parse::<Metric>())
            .collect::<std::result::Result<Vec<_>, _>>()?
    };
    let mut dataset = if args.evidence {
        Dataset::load_evidence(&args.dataset, &args.split)?
    } else {
        Dataset::load(&args.dataset, &args.split)?
    };
    if let Some(n) = args.limit {
        dataset.truncate(n);
    }
    for w in &dataset.warnings {
        eprintln!("warning: {}: {w}", dataset.name);
    }
    let options = EvalOptions {
        metrics: metrics.clone(),
        depth: args.depth,
        concurrency: args.concurrency,
        drop_self_hits: args.drop_self_hits,
    };
    let registry = ragweave::registry();
    let names = config_names(&args.configs);
    let mut report = Report::new(&dataset, metrics);
    for (path, name) in args.configs.iter().zip(names) {
        let loaded = LoadedConfig::read(Some(path), &registry)?;
        let pipeline = loaded.config.build(&registry, &loaded.base).await?;
        let bar = progress(args.quiet, dataset.queries.len(), &name);
        let evaluation =
            evaluate_pipeline(&name, &pipeline, &dataset, &options, &|| bar.inc(1)).await?;
        bar.finish_and_clear();
        if let Some(first) = &evaluation.first_expert_failure {
            eprintln!(
                "warning: {name}: {} expert runs failed and were skipped; first: {first}",
                evaluation.expert_failures
            );
        }
        let line: Vec<String> = evaluation
            .scores
            .mean
            .iter()
            .map(|(m, v)| format!("{m} {v:.4}"))
            .collect();
        eprintln!(
            "{name}: {} (p50 {:.2} ms)",
            line.join(", "),
            evaluation.latency.total.p50_ms
        );
        report.evaluations.push(evaluation);
    }
    if !args.oracle.is_empty() {
        report.add_oracle(&args.oracle)?;
    }
    // A closed pipe (`| head`) is the reader's choice, not an error: the files still get written.
    let _ = writeln!(std::io::stdout().lock(), "{}", report.to_markdown());
    if let Some(dir) = &args.out {
        report.write(dir)?;
        eprintln!(
            "wrote {0}/report.json, report.md, report.svg and run files",
            dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// File stems, made unique with the parent directory where two configs share one.
fn config_names(paths: &[PathBuf]) -> Vec<String> {
    let stem = |p: &Path| {
        p.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| p.display().to_string())
    };
    let stems: Vec<String> = paths.iter().map(|p| stem(p)).collect();
    paths
        .iter()
        .zip(&stems)
        .enumerate()
        .map(|(i, (p, s))| {
            if stems.iter().filter(|t| *t == s).count() == 1 {
                return s.clone();
            }
            match p.parent().and_then(|d| d.file_name()) {
                Some(dir) => format!("{}-{s}", dir.to_string_lossy()),
                None => format!("{s}-{}", i + 1),
            }
        })
        .collect()
}

fn progress(quiet: bool, total: usize, name: &str) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg:>16} [{bar:40}] {pos}/{len} queries, {per_sec}, eta {eta}",
        )
        .expect("progress template")
        .progress_chars("=> "),
    );
    bar.set_message(name.to_string());
    bar
}
