//! Ranking metrics with trec_eval's definitions (and so pytrec_eval's and BEIR's).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

use ragweave_core::algorithms::metrics::ndcg_at_k;
use serde::{Deserialize, Serialize};

use crate::error::EvalError;
use crate::qrels::{Qrels, Run};

/// A metric at a cut-off. A document is relevant when its grade is ≥ 1 (trec_eval's
/// default relevance level); nDCG uses the grades as gains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    /// trec_eval `ndcg_cut_k`: DCG of the top k over the ideal DCG of all judged grades.
    Ndcg(usize),
    /// trec_eval `recall_k`: relevant documents in the top k over all relevant documents.
    Recall(usize),
    /// trec_eval `P_k`: relevant documents in the top k over k.
    Precision(usize),
    /// Reciprocal rank of the first relevant document in the top k (trec_eval's
    /// `recip_rank` of the run cut at k).
    Mrr(usize),
    /// trec_eval `map_cut_k`: precision at each relevant document in the top k, summed,
    /// over all relevant documents.
    Map(usize),
}

impl Metric {
    /// The metrics reported by default: nDCG@10, Recall@100, MRR@10, MAP@10.
    pub fn defaults() -> Vec<Metric> {
        vec![
            Metric::Ndcg(10),
            Metric::Recall(100),
            Metric::Mrr(10),
            Metric::Map(10),
        ]
    }

    /// The cut-off.
    pub fn k(&self) -> usize {
        match *self {
            Metric::Ndcg(k)
            | Metric::Recall(k)
            | Metric::Precision(k)
            | Metric::Mrr(k)
            | Metric::Map(k) => k,
        }
    }

    /// The score of one query's ranking (best first, no repeats) against its judgements.
    pub fn score(&self, ranked: &[&str], judged: &HashMap<String, f32>) -> f64 {
        let k = self.k();
        let top = &ranked[..ranked.len().min(k)];
        let relevant = |d: &&&str| judged.get(**d).is_some_and(|g| *g >= 1.0);
        let num_rel = judged.values().filter(|g| **g >= 1.0).count();
        match self {
            Metric::Ndcg(_) => ndcg_at_k(ranked, judged, k),
            Metric::Recall(_) if num_rel == 0 => 0.0,
            Metric::Recall(_) => top.iter().filter(relevant).count() as f64 / num_rel as f64,
            Metric::Precision(_) => top.iter().filter(relevant).count() as f64 / k as f64,
            Metric::Mrr(_) => top
                .iter()
                .position(|d| relevant(&d))
                .map_or(0.0, |i| 1.0 / (i + 1) as f64),
            Metric::Map(_) if num_rel == 0 => 0.0,
            Metric::Map(_) => {
                let mut found = 0usize;
                let mut sum = 0.0;
                for (i, d) in top.iter().enumerate() {
                    if relevant(&d) {
                        found += 1;
                        sum += found as f64 / (i + 1) as f64;
                    }
                }
                sum / num_rel as f64
            }
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, k) = match *self {
            Metric::Ndcg(k) => ("nDCG", k),
            Metric::Recall(k) => ("Recall", k),
            Metric::Precision(k) => ("P", k),
            Metric::Mrr(k) => ("MRR", k),
            Metric::Map(k) => ("MAP", k),
        };
        write!(f, "{name}@{k}")
    }
}

impl FromStr for Metric {
    type Err = EvalError;

    /// `ndcg@10`, `recall@100`, `p@5`, `mrr@10`, `map@100` (any case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason: String| EvalError::Option {
            option: "metric",
            reason,
        };
        let (name, k) = s
            .split_once('@')
            .ok_or_else(|| bad(format!("`{s}` is not NAME@K (e.g. ndcg@10)")))?;
        let k: usize = k
            .parse()
            .ok()
            .filter(|k| *k > 0)
            .ok_or_else(|| bad(format!("cut-off `{k}` in `{s}` is not a positive integer")))?;
        Ok(match name.to_ascii_lowercase().as_str() {
            "ndcg" => Metric::Ndcg(k),
            "recall" | "r" => Metric::Recall(k),
            "p" | "precision" => Metric::Precision(k),
            "mrr" => Metric::Mrr(k),
            "map" => Metric::Map(k),
            _ => {
                return Err(bad(format!(
                    "unknown metric `{name}` (ndcg, recall, p, mrr, map)"
                )));
            }
        })
    }
}

impl Serialize for Metric {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Metric {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Scores of a run: per query and averaged over every judged query.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Mean of each metric over the judged queries (a query the run lacks scores 0).
    pub mean: BTreeMap<String, f64>,
    /// Each query's scores, by query id then metric.
    pub per_query: BTreeMap<String, BTreeMap<String, f64>>,
}

/// Scores `run` against every query of `qrels` (trec_eval's `-c`: a query missing from the
/// run counts as 0).
pub fn evaluate(qrels: &Qrels, run: &Run, metrics: &[Metric]) -> Scores {
    let mut scores = Scores::default();
    for (q, judged) in qrels.iter() {
        let ranked = run.ranked(q);
        let row: BTreeMap<String, f64> = metrics
            .iter()
            .map(|m| (m.to_string(), m.score(&ranked, judged)))
            .collect();
        scores.per_query.insert(q.clone(), row);
    }
    let n = scores.per_query.len().max(1) as f64;
    for m in metrics {
        let name = m.to_string();
        let sum: f64 = scores.per_query.values().map(|r| r[&name]).sum();
        scores.mean.insert(name, sum / n);
    }
    scores
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judged(pairs: &[(&str, f32)]) -> HashMap<String, f32> {
        pairs.iter().map(|(d, g)| (d.to_string(), *g)).collect()
    }

    #[test]
    fn hand_computed_values() {
        // Relevant: a (2), b (1); c judged non-relevant. Ranking: c, b, x, a.
        let j = judged(&[("a", 2.0), ("b", 1.0), ("c", 0.0)]);
        let r = ["c", "b", "x", "a"];
        assert_eq!(Metric::Recall(2).score(&r, &j), 0.5);
        assert_eq!(Metric::Recall(4).score(&r, &j), 1.0);
        assert_eq!(Metric::Precision(4).score(&r, &j), 0.5);
        assert_eq!(Metric::Precision(10).score(&r, &j), 0.2);
        assert_eq!(Metric::Mrr(10).score(&r, &j), 0.5);
        assert_eq!(Metric::Mrr(1).score(&r, &j), 0.0);
        // MAP: (1/2 + 2/4) / 2.
        assert_eq!(Metric::Map(10).score(&r, &j), 0.5);
        assert_eq!(Metric::Map(3).score(&r, &j), 0.25);
    }

    #[test]
    fn names_parse_and_print() {
        for s in ["nDCG@10", "Recall@100", "P@5", "MRR@10", "MAP@1000"] {
            assert_eq!(s.parse::<Metric>().unwrap().to_string(), s);
        }
        assert!("ndcg".parse::<Metric>().is_err());
        assert!("ndcg@0".parse::<Metric>().is_err());
        assert!("bleu@4".parse::<Metric>().is_err());
    }

    #[test]
    fn missing_queries_count_as_zero() {
        let mut qrels = Qrels::default();
        qrels.insert("q1", "a", 1.0);
        qrels.insert("q2", "b", 1.0);
        let mut run = Run::default();
        run.insert_ranking("q1", ["a"]);
        let s = evaluate(&qrels, &run, &[Metric::Ndcg(10)]);
        assert_eq!(s.mean["nDCG@10"], 0.5);
        assert_eq!(s.per_query["q2"]["nDCG@10"], 0.0);
    }
}
