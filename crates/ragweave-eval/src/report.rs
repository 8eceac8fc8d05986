//! Reports of several pipelines on one dataset: JSON, a markdown table, an SVG chart.

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
        }
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
