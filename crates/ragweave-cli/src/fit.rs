//! `ragweave fit-pilots`: pilots for a `pilot` router, from labelled training queries.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use async_trait::async_trait;
use clap::{Args, ValueEnum};
use ragweave::config::PipelineConfig;
use ragweave::eval::Dataset;
use ragweave::{
    Embedder, Error, FitOptions, Hit, LabelledQuery, PilotRouter, Pipeline, Query, Result,
    Retriever, TieRule, fit_pilots,
};

use crate::store::LoadedConfig;

/// Arguments of `ragweave fit-pilots`.
#[derive(Args)]
pub struct FitArgs {
    /// Config with the experts to route among and a `[router]` of kind `pilot`: its embedder
    /// embeds the training queries and its `pilots` path receives the pilots.
    #[arg(long)]
    config: PathBuf,
    /// BEIR dataset directory with the training queries.
    #[arg(long, required_unless_present = "examples")]
    dataset: Option<PathBuf>,
    /// Instead of judged queries: `EXPERT=FILE`, a file of example queries (one per line)
    /// that the expert serves; their embeddings become its pilots. Repeat per expert.
    #[arg(
        long = "examples",
        value_name = "EXPERT=FILE",
        conflicts_with = "dataset"
    )]
    examples: Vec<String>,
    /// The qrels file with the training judgements.
    #[arg(long, default_value = "train")]
    split: String,
    /// Judge by the queries' evidence metadata (SciFact) instead, leaving out every query
    /// judged in --split (give --split test: the pilots never see a test query).
    #[arg(long)]
    evidence: bool,
    /// Pilots (k-means centroids) per expert.
    #[arg(long, default_value_t = 1)]
    centroids: usize,
    /// A query several experts serve equally well: `skip` it or give it to `all` of them.
    #[arg(long, value_enum, default_value_t = Ties::Skip)]
    ties: Ties,
    /// nDCG cut-off that judges the experts.
    #[arg(long, default_value_t = 10)]
    cutoff: usize,
    /// Write the pilots here instead of the router's `pilots` path.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Ties {
    Skip,
    All,
}

pub async fn run(args: FitArgs) -> Result<ExitCode> {
    let registry = ragweave::registry();
    let loaded = LoadedConfig::read(Some(&args.config), &registry)?;
    let router = loaded.config.router.as_ref().filter(|r| r.kind == "pilot");
    let router = router
        .ok_or_else(|| Error::config("router", "fit-pilots needs a `[router]` of kind `pilot`"))?;
    let param = |key: &str| {
        router
            .params
            .get(key)
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .ok_or_else(|| Error::config(format!("router.{key}"), "expected a string"))
    };
    let out = match &args.out {
        Some(p) => p.clone(),
        None => loaded.base.join(param("pilots")?),
    };
    let embedder = loaded.embedder(&registry, &param("embedder")?).await?;
    let Some(dir) = &args.dataset else {
        return from_examples(&args.examples, &loaded, embedder, &out).await;
    };
    let dataset = if args.evidence {
        Dataset::load_evidence(dir, &args.split)?
    } else {
        Dataset::load(dir, &args.split)?
    };
    let dataset = Arc::new(dataset);
    let queries: Vec<LabelledQuery> = dataset
        .queries
        .iter()
        .map(|q| LabelledQuery {
            text: q.text.clone(),
            relevant: dataset.relevant(&q.id),
        })
        .collect();
    let mut experts: Vec<(String, Arc<dyn Retriever>)> = Vec::new();
    for name in loaded.config.experts.keys() {
        let pipeline = single_expert(&loaded, name).await?;
        experts.push((
            name.clone(),
            Arc::new(ExpertPipeline {
                pipeline,
                dataset: dataset.clone(),
            }),
        ));
    }
    let options = FitOptions {
        centroids: args.centroids,
        cutoff: args.cutoff,
        ties: match args.ties {
            Ties::Skip => TieRule::Skip,
            Ties::All => TieRule::All,
        },
        ..FitOptions::default()
    };
    eprintln!(
        "fitting pilots for {:?} on {} training queries of {}",
        loaded.config.experts.keys().collect::<Vec<_>>(),
        queries.len(),
        dataset.name
    );
    let (pilots, report) = fit_pilots(embedder.as_ref(), &experts, &queries, &options).await?;
    pilots.save(&out)?;
    // The pilots are saved; a closed pipe (`| head`) only cuts the report short.
    let _ = writeln!(
        std::io::stdout().lock(),
        "{}",
        serde_json::to_string_pretty(&report).expect("report serializes")
    );
    eprintln!("wrote {}", out.display());
    Ok(ExitCode::SUCCESS)
}

/// Pilots that are the embeddings of each expert's example queries.
async fn from_examples(
    examples: &[String],
    loaded: &LoadedConfig,
    embedder: Arc<dyn Embedder>,
    out: &Path,
) -> Result<ExitCode> {
    let router = PilotRouter::new(embedder);
    for spec in examples {
        let (expert, file) = spec
            .split_once('=')
            .ok_or_else(|| Error::invalid("--examples", format!("`{spec}` is not EXPERT=FILE")))?;
        if !loaded.config.experts.contains_key(expert) {
            return Err(Error::invalid(
                "--examples",
                format!("the config has no expert `{expert}`"),
            ));
        }
        let text = std::fs::read_to_string(file).map_err(|source| Error::Io {
            path: file.to_string(),
            source,
        })?;
        let queries: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        router.add_expert_from_queries(expert, &queries).await?;
        eprintln!("{expert}: {} example queries", queries.len());
    }
    router.pilots().save(out)?;
    eprintln!("wrote {}", out.display());
    Ok(ExitCode::SUCCESS)
}

/// The config with only expert `name` (no router, no transforms), built.
async fn single_expert(loaded: &LoadedConfig, name: &str) -> Result<Pipeline> {
    let mut config: PipelineConfig = loaded.config.clone();
    config.router = None;
    config.transforms.clear();
    config.reranker = None;
    config.generator = None;
    config.experts.retain(|n, _| n == name);
    config.build(&ragweave::registry(), &loaded.base).await
}

/// One expert, with document ids as the dataset's judgements name them.
struct ExpertPipeline {
    pipeline: Pipeline,
    dataset: Arc<Dataset>,
}

#[async_trait]
impl Retriever for ExpertPipeline {
    fn name(&self) -> &str {
        "expert"
    }

    async fn retrieve(&self, query: &Query) -> Result<Vec<Hit>> {
        let mut hits = self.pipeline.retrieve(query.clone()).await?;
        for h in &mut hits {
            h.chunk.document_id = self.dataset.document_id(&h.chunk.document_id).to_string();
        }
        Ok(hits)
    }
}
