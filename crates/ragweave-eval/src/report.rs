//! Reports of several pipelines on one dataset: JSON, a markdown table, an SVG chart.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::dataset::Dataset;
use crate::error::{EvalError, EvalResult};
use crate::metrics::Metric;
use crate::runner::Evaluation;

/// Every pipeline evaluated on one dataset split, in the order they ran.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// Dataset name.
    pub dataset: String,
    /// Split evaluated.
    pub split: String,
    /// Judged queries.
    pub queries: usize,
    /// Corpus documents.
    pub documents: usize,
    /// The dataset loader's warnings.
    pub warnings: Vec<String>,
    /// Metrics, the first being the one charted.
    pub metrics: Vec<Metric>,
    /// One per pipeline.
    pub evaluations: Vec<Evaluation>,
    /// Per-query ceilings over sets of those pipelines.
    #[serde(default)]
    pub oracles: Vec<Oracle>,
}

/// The per-query best of several pipelines: what a perfect router among them would score.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Oracle {
    /// The pipelines, by name.
    pub of: Vec<String>,
    /// Mean over queries of the best pipeline's score, per metric (each metric's best
    /// pipeline is chosen separately).
    pub mean: BTreeMap<String, f64>,
}

impl Report {
    /// An empty report for `dataset`.
    pub fn new(dataset: &Dataset, metrics: Vec<Metric>) -> Self {
        Self {
            dataset: dataset.name.clone(),
            split: dataset.split.clone(),
            queries: dataset.queries.len(),
            documents: dataset.documents,
            warnings: dataset.warnings.clone(),
            metrics,
            evaluations: Vec::new(),
            oracles: Vec::new(),
        }
    }

    /// Adds the per-query oracle over the named pipelines; every name must be evaluated.
    pub fn add_oracle(&mut self, names: &[String]) -> EvalResult<()> {
        let mut chosen = Vec::new();
        for name in names {
            let e = self.evaluations.iter().find(|e| &e.name == name);
            chosen.push(e.ok_or_else(|| EvalError::Option {
                option: "oracle",
                reason: format!("no pipeline named `{name}` was evaluated"),
            })?);
        }
        let Some(first) = chosen.first() else {
            return Err(EvalError::Option {
                option: "oracle",
                reason: "an oracle needs at least one pipeline".into(),
            });
        };
        let mut mean = BTreeMap::new();
        for metric in &self.metrics {
            let m = metric.to_string();
            let total: f64 = first
                .scores
                .per_query
                .keys()
                .map(|q| {
                    chosen
                        .iter()
                        .filter_map(|e| e.scores.per_query.get(q).and_then(|r| r.get(&m)))
                        .fold(0.0, |a: f64, b| a.max(*b))
                })
                .sum();
            mean.insert(m, total / first.scores.per_query.len().max(1) as f64);
        }
        self.oracles.push(Oracle {
            of: names.to_vec(),
            mean,
        });
        Ok(())
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("report serializes")
    }

    /// A markdown table of metrics and latency, then each stage's median latency.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "**{}** ({} split, {} queries, {} documents)\n",
            self.dataset, self.split, self.queries, self.documents
        );
        let mut header = String::from("| pipeline |");
        let mut rule = String::from("|---|");
        for m in &self.metrics {
            let _ = write!(header, " {m} |");
            rule.push_str("---:|");
        }
        header.push_str(" p50 ms | p95 ms | queries/s |");
        rule.push_str("---:|---:|---:|");
        let _ = writeln!(out, "{header}\n{rule}");
        for e in &self.evaluations {
            let _ = write!(out, "| {} |", e.name);
            for m in &self.metrics {
                let _ = write!(out, " {:.4} |", e.mean(*m).unwrap_or(f64::NAN));
            }
            let _ = writeln!(
                out,
                " {:.2} | {:.2} | {:.1} |",
                e.latency.total.p50_ms,
                e.latency.total.p95_ms,
                e.queries as f64 / e.wall_seconds.max(1e-9)
            );
        }
        for o in &self.oracles {
            let _ = write!(out, "| per-query best of {} |", o.of.join(", "));
            for m in &self.metrics {
                let _ = write!(
                    out,
                    " {:.4} |",
                    o.mean.get(&m.to_string()).unwrap_or(&f64::NAN)
                );
            }
            let _ = writeln!(out, " | | |");
        }
        let _ = writeln!(out, "\nMedian stage latency (ms):\n");
        for e in &self.evaluations {
            let stages: Vec<String> = e
                .latency
                .stages
                .iter()
                .map(|(name, s)| format!("{name} {:.3}", s.p50_ms))
                .collect();
            let _ = writeln!(out, "- {}: {}", e.name, stages.join(", "));
        }
        for e in self.evaluations.iter().filter(|e| e.expert_failures > 0) {
            let _ = writeln!(
                out,
                "\nwarning: {}: {} expert runs failed and were skipped; first: {}",
                e.name,
                e.expert_failures,
                e.first_expert_failure.as_deref().unwrap_or("")
            );
        }
        for w in &self.warnings {
            let _ = writeln!(out, "\nwarning: {w}");
        }
        out
    }

    /// Writes `report.json`, `report.md` and `report.svg` into `dir`.
    pub fn write(&self, dir: &Path) -> EvalResult<()> {
        let io = |source| EvalError::Io {
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let write = |name: &str, text: String| {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|source| EvalError::Io { path, source })
        };
        write("report.json", self.to_json())?;
        write("report.md", self.to_markdown())?;
        write("report.svg", crate::chart::quality_vs_latency(self)?)?;
        for e in &self.evaluations {
            write(&format!("{}.run", e.name), e.run.to_trec(&e.name))?;
        }
        Ok(())
    }
}
