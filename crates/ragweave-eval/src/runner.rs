//! Runs a pipeline over a dataset's queries and scores what it retrieved.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use ragweave_core::{AskRequest, Pipeline};
use serde::{Deserialize, Serialize};

use crate::dataset::Dataset;
use crate::error::{EvalError, EvalResult};
use crate::latency::Latency;
use crate::metrics::{Metric, Scores, evaluate};
use crate::qrels::Run;

/// How an evaluation runs.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Metrics to report.
    pub metrics: Vec<Metric>,
    /// Documents retrieved per query; default: the largest metric cut-off.
    pub depth: Option<usize>,
    /// Queries in flight at once (1 measures latencies without queueing).
    pub concurrency: usize,
    /// Drop a retrieved document whose id equals the query id (ArguAna: a query is itself a
    /// corpus argument; BEIR's `ignore_identical_ids`).
    pub drop_self_hits: bool,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            metrics: Metric::defaults(),
            depth: None,
            concurrency: 1,
            drop_self_hits: false,
        }
    }
}

impl EvalOptions {
    fn depth(&self) -> usize {
        self.depth
            .unwrap_or_else(|| self.metrics.iter().map(Metric::k).max().unwrap_or(10))
            .max(1)
    }
}

/// One pipeline's evaluation on one dataset.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Evaluation {
    /// The pipeline's name (its config file's stem in the CLI).
    pub name: String,
    /// Queries evaluated.
    pub queries: usize,
    /// Metric scores.
    pub scores: Scores,
    /// Per-stage and end-to-end latency.
    pub latency: Latency,
    /// Queries in flight at once.
    pub concurrency: usize,
    /// Wall time of the whole run, seconds.
    pub wall_seconds: f64,
    /// Self-hits dropped (with `drop_self_hits`).
    pub self_hits_dropped: usize,
    /// Expert runs that failed and were skipped (the pipeline's `expert_failure = "skip"`):
    /// a score measured without them is not the pipeline's.
    pub expert_failures: usize,
    /// The first such failure, as the trace noted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_expert_failure: Option<String>,
    /// What was retrieved.
    #[serde(skip)]
    pub run: Run,
}

impl Evaluation {
    /// The mean of `metric`, if it was computed.
    pub fn mean(&self, metric: Metric) -> Option<f64> {
        self.scores.mean.get(&metric.to_string()).copied()
    }
}

struct QueryResult {
    ranked: Vec<String>,
    stages: Vec<(String, Duration)>,
    failures: Vec<String>,
    total: Duration,
    dropped: usize,
}

/// Runs `pipeline` (retrieval only: a generator, if configured, is not called) on every
/// query of `dataset`, at most `options.concurrency` at a time, and scores the result.
/// `on_query` is called after each query, for progress bars.
pub async fn evaluate_pipeline(
    name: &str,
    pipeline: &Pipeline,
    dataset: &Dataset,
    options: &EvalOptions,
    on_query: &(dyn Fn() + Sync),
) -> EvalResult<Evaluation> {
    if options.metrics.is_empty() {
        return Err(EvalError::Option {
            option: "metrics",
            reason: "no metric to compute".into(),
        });
    }
    if options.concurrency == 0 {
        return Err(EvalError::Option {
            option: "concurrency",
            reason: "must be at least 1".into(),
        });
    }
    let depth = options.depth();
    // One more than the depth, so dropping a self-hit still leaves `depth` documents.
    let fetch = depth + usize::from(options.drop_self_hits);
    let started = Instant::now();
    let results: Vec<(String, QueryResult)> = futures::stream::iter(&dataset.queries)
        .map(|q| async move {
            let t0 = Instant::now();
            let request = AskRequest::new(q.text.clone()).top_k(fetch);
            let (hits, trace) =
                pipeline
                    .retrieve_traced(request)
                    .await
                    .map_err(|source| EvalError::Query {
                        query: q.id.clone(),
                        source,
                    })?;
            let total = t0.elapsed();
            let mut dropped = 0;
            let mut ranked: Vec<String> = Vec::with_capacity(depth);
            for hit in &hits {
                let doc = dataset.document_id(&hit.chunk.document_id);
                if options.drop_self_hits && doc == q.id {
                    dropped += 1;
                    continue;
                }
                // Chunks of one document: the document ranks where its best chunk does.
                if !ranked.iter().any(|d| d == doc) {
                    ranked.push(doc.to_string());
                }
            }
            ranked.truncate(depth);
            let failures = trace
                .stages
                .iter()
                .flat_map(|s| s.notes.iter().filter(|n| n.starts_with("failed:")))
                .map(|n| format!("query {}: {n}", q.id))
                .collect();
            let stages = trace
                .stages
                .into_iter()
                .map(|s| (s.name, s.duration))
                .collect();
            on_query();
            Ok::<_, EvalError>((
                q.id.clone(),
                QueryResult {
                    ranked,
                    stages,
                    failures,
                    total,
                    dropped,
                },
            ))
        })
        .buffered(options.concurrency)
        .try_collect()
        .await?;
    let wall = started.elapsed();
    let mut run = Run::default();
    let mut totals = Vec::with_capacity(results.len());
    let mut stages: BTreeMap<String, Vec<Duration>> = BTreeMap::new();
    let mut dropped = 0;
    let mut failures = results.iter().flat_map(|(_, r)| r.failures.iter());
    let first_expert_failure = failures.next().cloned();
    let expert_failures = first_expert_failure.iter().count() + failures.count();
    for (id, r) in &results {
        run.insert_ranking(id, r.ranked.iter().map(String::as_str));
        totals.push(r.total);
        for (stage, d) in &r.stages {
            stages.entry(stage.clone()).or_default().push(*d);
        }
        dropped += r.dropped;
    }
    Ok(Evaluation {
        name: name.to_string(),
        queries: results.len(),
        scores: evaluate(&dataset.qrels, &run, &options.metrics),
        latency: Latency::from_samples(totals, stages),
        concurrency: options.concurrency,
        wall_seconds: wall.as_secs_f64(),
        self_hits_dropped: dropped,
        expert_failures,
        first_expert_failure,
        run,
    })
}
