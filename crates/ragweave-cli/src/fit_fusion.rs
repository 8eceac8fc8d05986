//! `ragweave fit-fusion`: per-query fusion weights (`[fusion.adaptive]`) from labelled
//! training queries.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use futures::{StreamExt, TryStreamExt};
use ragweave::eval::Dataset;
use ragweave::{
    AdaptiveFitOptions, AdaptiveWeights, AskRequest, Error, FusionExample, Result, Signal,
    fit_adaptive,
};
use serde::Serialize;

use crate::store::LoadedConfig;

/// Arguments of `ragweave fit-fusion`.
#[derive(Args)]
pub struct FitFusionArgs {
    /// Config with two or more experts and the `[fusion]` to fit weights for (a
    /// `[fusion.adaptive]` in it is ignored: fitting starts from the fixed weights).
    #[arg(long)]
    config: PathBuf,
    /// BEIR dataset directory with the training queries.
    #[arg(long)]
    dataset: PathBuf,
    /// The qrels file with the training judgements.
    #[arg(long, default_value = "train")]
    split: String,
    /// Judge by the queries' evidence metadata (SciFact) instead, leaving out every query
    /// judged in --split (give --split test: the weights never see a test query).
    #[arg(long)]
    evidence: bool,
    /// Drop a retrieved document whose id equals the query's (ArguAna).
    #[arg(long)]
    drop_self_hits: bool,
    /// Signals to choose from, comma-separated (default: all of the experts').
    #[arg(long, value_delimiter = ',')]
    signals: Vec<String>,
    /// nDCG cut-off of the objective.
    #[arg(long, default_value_t = 10)]
    cutoff: usize,
    /// Cross-validation folds.
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Least cross-validated nDCG gain (0 to 1) for which a signal is kept.
    #[arg(long, default_value_t = 0.001)]
    min_gain: f64,
    /// Training queries retrieved for at once.
    #[arg(long, default_value_t = 2)]
    concurrency: usize,
    /// Write the `[fusion.adaptive]` section here (TOML, to append to a config).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// `[fusion.adaptive]`, nested as a config holds it.
#[derive(Serialize)]
struct Section<'a> {
    fusion: Adaptive<'a>,
}

#[derive(Serialize)]
struct Adaptive<'a> {
    adaptive: &'a AdaptiveWeights,
}

pub async fn run(args: FitFusionArgs) -> Result<ExitCode> {
    let registry = ragweave::registry();
    let mut loaded = LoadedConfig::read(Some(&args.config), &registry)?;
    loaded.config.fusion.adaptive = None;
    let pipeline = loaded.config.build(&registry, &loaded.base).await?;
    let fusion = loaded.config.fusion.clone();
    let signals = args
        .signals
        .iter()
        .map(|name| {
            Signal::parse(name)
                .filter(|s| {
                    s.expert()
                        .is_none_or(|e| pipeline.experts().iter().any(|x| x == e))
                })
                .ok_or_else(|| {
                    Error::invalid(
                        "--signals",
                        format!(
                            "`{name}` is not a signal of experts {:?} (EXPERT.top1, \
                             EXPERT.gap, EXPERT.spread, overlap, query_words)",
                            pipeline.experts()
                        ),
                    )
                })
        })
        .collect::<Result<Vec<_>>>()?;
    let dataset = if args.evidence {
        Dataset::load_evidence(&args.dataset, &args.split)?
    } else {
        Dataset::load(&args.dataset, &args.split)?
    };
    eprintln!(
        "fitting fusion weights for {:?} on {} training queries of {}",
        pipeline.experts(),
        dataset.queries.len(),
        dataset.name
    );
    let dataset = &dataset;
    let pipeline = &pipeline;
    let (cutoff, drop_self_hits) = (args.cutoff, args.drop_self_hits);
    let examples: Vec<FusionExample> = futures::stream::iter(&dataset.queries)
        .map(|q| async move {
            let request = AskRequest::new(q.text.clone()).top_k(cutoff);
            let (query, mut lists) = pipeline.fusion_input(request).await?;
            for list in &mut lists {
                for hit in &mut list.hits {
                    hit.chunk.document_id = dataset.document_id(&hit.chunk.document_id).to_string();
                }
                if drop_self_hits {
                    list.hits.retain(|h| h.chunk.document_id != q.id);
                }
            }
            Ok::<_, Error>(FusionExample {
                query: query.text,
                lists,
                relevant: dataset.relevant(&q.id),
            })
        })
        .buffered(args.concurrency.max(1))
        .try_collect()
        .await?;
    let options = AdaptiveFitOptions {
        signals,
        cutoff: args.cutoff,
        folds: args.folds,
        min_gain: args.min_gain,
        ..AdaptiveFitOptions::default()
    };
    let (weights, report) = fit_adaptive(&fusion, &examples, &options)?;
    let section = toml::to_string(&Section {
        fusion: Adaptive { adaptive: &weights },
    })
    .map_err(|e| Error::invalid("fit-fusion", format!("the section does not serialize: {e}")))?;
    let header = format!(
        "# Fitted by `ragweave fit-fusion` on {} training queries of {}: cross-validated \
         nDCG@{} {:.4} (fixed weights {:.4}).\n",
        report.queries,
        dataset.name,
        args.cutoff,
        report
            .steps
            .last()
            .map_or(report.bias_cv_ndcg, |s| s.cv_ndcg),
        report.fixed_ndcg
    );
    if let Some(out) = &args.out {
        std::fs::write(out, format!("{header}{section}")).map_err(|source| Error::Io {
            path: out.display().to_string(),
            source,
        })?;
        eprintln!("wrote {}", out.display());
    }
    // A closed pipe (`| head`) only cuts the report short.
    let _ = writeln!(
        std::io::stdout().lock(),
        "{}",
        serde_json::to_string_pretty(&report).expect("report serializes")
    );
    if args.out.is_none() {
        eprint!("{header}{section}");
    }
    Ok(ExitCode::SUCCESS)
}
