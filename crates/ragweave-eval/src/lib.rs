//! Evaluating ragweave pipelines on BEIR datasets.
//!
//! [`Dataset::load`] reads a BEIR directory and checks it; [`evaluate_pipeline`] runs a
//! pipeline on its queries with bounded concurrency, timing every stage; [`evaluate`]
//! scores a [`Run`] with trec_eval's definitions (checked against pytrec_eval to 1e-6 in
//! the tests); a [`Report`] of several pipelines writes JSON, markdown and an SVG chart.
//!
//! ```
//! use ragweave_eval::{Metric, Qrels, Run, evaluate};
//!
//! let mut qrels = Qrels::default();
//! qrels.insert("q1", "d1", 2.0);
//! qrels.insert("q1", "d2", 1.0);
//! let mut run = Run::default();
//! run.insert_ranking("q1", ["d2", "d1", "d9"]);
//! let scores = evaluate(&qrels, &run, &[Metric::Ndcg(10), Metric::Mrr(10)]);
//! assert_eq!(scores.mean["MRR@10"], 1.0);
//! assert!(scores.mean["nDCG@10"] < 1.0);
//! ```

mod chart;
mod dataset;
mod error;
mod latency;
mod metrics;
mod qrels;
mod report;
mod runner;

pub use chart::quality_vs_latency;
pub use dataset::{CORPUS_FILE, Dataset, EvalQuery};
pub use error::{EvalError, EvalResult};
pub use latency::{Latency, Summary};
pub use metrics::{Metric, Scores, evaluate};
pub use qrels::{Qrels, Run};
pub use report::{Oracle, Report};
pub use runner::{EvalOptions, Evaluation, evaluate_pipeline};
