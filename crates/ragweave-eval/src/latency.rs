//! Latency summaries: end to end and per pipeline stage.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Percentiles of one latency, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Samples.
    pub count: usize,
    /// Mean.
    pub mean_ms: f64,
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
}

impl Summary {
    /// Summarises samples (nearest-rank percentiles); all zero for none.
    pub fn of(mut samples: Vec<Duration>) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let at = |p: f64| {
            let rank = (p * samples.len() as f64).ceil() as usize;
            ms(samples[rank.clamp(1, samples.len()) - 1])
        };
        Self {
            count: samples.len(),
            mean_ms: samples.iter().map(|d| ms(*d)).sum::<f64>() / samples.len() as f64,
            p50_ms: at(0.50),
            p95_ms: at(0.95),
            p99_ms: at(0.99),
            max_ms: ms(*samples.last().expect("not empty")),
        }
    }
}

/// End-to-end latency per query and each stage's, as the pipeline's trace recorded them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Whole queries, as the runner timed them.
    pub total: Summary,
    /// Stages by trace name (`route`, `retrieve:bm25`, `fuse`, `transform:think`, ...).
    pub stages: BTreeMap<String, Summary>,
}

impl Latency {
    /// Summarises per-query totals and per-stage samples.
    pub fn from_samples(totals: Vec<Duration>, stages: BTreeMap<String, Vec<Duration>>) -> Self {
        Self {
            total: Summary::of(totals),
            stages: stages
                .into_iter()
                .map(|(name, s)| (name, Summary::of(s)))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let s = Summary::of((1..=100).map(Duration::from_millis).collect());
        assert_eq!(s.count, 100);
        assert!((s.p50_ms - 50.0).abs() < 1e-9);
        assert!((s.p95_ms - 95.0).abs() < 1e-9);
        assert!((s.p99_ms - 99.0).abs() < 1e-9);
        assert!((s.max_ms - 100.0).abs() < 1e-9);
        assert!((s.mean_ms - 50.5).abs() < 1e-9);
        assert_eq!(Summary::of(Vec::new()), Summary::default());
    }
}
