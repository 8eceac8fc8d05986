//! Per-query fusion weights (`[fusion.adaptive]`): signals read off the experts' lists at
//! query time (how far each list's best stands above the rest, how much the lists agree, how
//! long the query is) move each expert's weight up or down, by coefficients fitted on
//! training queries (`ragweave fit-fusion`, [`fit_adaptive`](super::adaptive_fit::fit_adaptive)).

use std::collections::{BTreeMap, HashSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::fusion::FuseBy;
use super::rrf::RankedList;
use crate::error::{Error, Result};

/// How many of a list's best results its signals look at.
pub const SIGNAL_DEPTH: usize = 10;

/// A signal of the query's lists, by name: `EXPERT.top1`, `EXPERT.gap`, `EXPERT.spread`,
/// `overlap` or `query_words`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Signal {
    /// The expert's best score, raw (a cosine, a BM25 score).
    Top1(String),
    /// The expert's lead: (best - second) / (best - tenth), in [0, 1]; 1 when one result
    /// stands alone.
    Gap(String),
    /// How steeply the expert's scores fall: (best - tenth) / |best|.
    Spread(String),
    /// The share of the lists' top ten that each pair of lists has in common, averaged over
    /// the pairs: 1 when the experts agree.
    Overlap,
    /// ln(1 + the number of words in the query).
    QueryWords,
}

impl Signal {
    /// Parses a signal's name.
    pub fn parse(name: &str) -> Option<Signal> {
        match name {
            "overlap" => return Some(Signal::Overlap),
            "query_words" => return Some(Signal::QueryWords),
            _ => {}
        }
        let (expert, what) = name.rsplit_once('.')?;
        let expert = expert.to_string();
        match what {
            "top1" => Some(Signal::Top1(expert)),
            "gap" => Some(Signal::Gap(expert)),
            "spread" => Some(Signal::Spread(expert)),
            _ => None,
        }
    }

    /// Every signal of lists from `experts`.
    pub fn all(experts: &[String]) -> Vec<Signal> {
        let mut all = Vec::new();
        for e in experts {
            all.push(Signal::Top1(e.clone()));
            all.push(Signal::Gap(e.clone()));
            all.push(Signal::Spread(e.clone()));
        }
        if experts.len() > 1 {
            all.push(Signal::Overlap);
        }
        all.push(Signal::QueryWords);
        all
    }

    /// The expert whose list the signal reads, if it reads one.
    pub fn expert(&self) -> Option<&str> {
        match self {
            Signal::Top1(e) | Signal::Gap(e) | Signal::Spread(e) => Some(e),
            Signal::Overlap | Signal::QueryWords => None,
        }
    }

    /// The signal's value for `lists` (their hits best first, one per fusion key) and the
    /// query's text; 0 where a list it reads is missing or empty.
    pub fn value(&self, lists: &[Scores], query: &str) -> f64 {
        let of = |e: &str| {
            lists
                .iter()
                .find(|l| l.name == e)
                .filter(|l| !l.scores.is_empty())
        };
        match self {
            Signal::Top1(e) => of(e.as_str()).map_or(0.0, |l| l.scores[0]),
            Signal::Gap(e) => of(e.as_str()).map_or(0.0, |l| {
                let (best, second, tail) = (l.scores[0], l.at(1), l.at(SIGNAL_DEPTH - 1));
                ratio(best - second, best - tail)
            }),
            Signal::Spread(e) => of(e.as_str()).map_or(0.0, |l| {
                ratio(l.scores[0] - l.at(SIGNAL_DEPTH - 1), l.scores[0].abs())
            }),
            Signal::Overlap => overlap(lists),
            Signal::QueryWords => (1.0 + query.split_whitespace().count() as f64).ln(),
        }
    }
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Signal::Top1(e) => write!(f, "{e}.top1"),
            Signal::Gap(e) => write!(f, "{e}.gap"),
            Signal::Spread(e) => write!(f, "{e}.spread"),
            Signal::Overlap => f.write_str("overlap"),
            Signal::QueryWords => f.write_str("query_words"),
        }
    }
}

fn ratio(num: f64, den: f64) -> f64 {
    if den > 0.0 && num.is_finite() && den.is_finite() {
        (num / den).clamp(-1e3, 1e3)
    } else {
        0.0
    }
}

fn overlap(lists: &[Scores]) -> f64 {
    let tops: Vec<HashSet<&str>> = lists
        .iter()
        .map(|l| {
            l.keys
                .iter()
                .take(SIGNAL_DEPTH)
                .map(String::as_str)
                .collect()
        })
        .collect();
    let mut shared = 0.0;
    let mut pairs = 0.0;
    for (i, a) in tops.iter().enumerate() {
        for b in &tops[i + 1..] {
            shared += a.intersection(b).count() as f64 / SIGNAL_DEPTH as f64;
            pairs += 1.0;
        }
    }
    if pairs > 0.0 { shared / pairs } else { 0.0 }
}

/// One list as its signals see it: each fusion key once, at its best finite score, best
/// first.
#[derive(Debug, Clone)]
pub struct Scores {
    /// The expert's name.
    pub name: String,
    /// Chunk or document ids, as fusion keys them, in the order of `scores`.
    pub keys: Vec<String>,
    /// Scores, best first.
    pub scores: Vec<f64>,
}

impl Scores {
    /// `list`'s results keyed as `by` keys them.
    pub fn of(list: &RankedList, by: FuseBy) -> Scores {
        let mut seen = HashSet::new();
        let mut pairs: Vec<(String, f64)> = Vec::new();
        let mut sorted: Vec<(&str, f64)> = list
            .hits
            .iter()
            .filter(|h| h.score.is_finite())
            .map(|h| {
                let key = match by {
                    FuseBy::Chunk => h.chunk.id.as_str(),
                    FuseBy::Document => h.chunk.document_id.as_str(),
                };
                (key, f64::from(h.score))
            })
            .collect();
        sorted.sort_by(|a, b| b.1.total_cmp(&a.1));
        for (key, score) in sorted {
            if seen.insert(key) {
                pairs.push((key.to_string(), score));
            }
        }
        let (keys, scores) = pairs.into_iter().unzip();
        Scores {
            name: list.name.clone(),
            keys,
            scores,
        }
    }

    /// The score at rank `i` (0-based), or the last one when the list is shorter.
    fn at(&self, i: usize) -> f64 {
        self.scores[i.min(self.scores.len() - 1)]
    }
}

/// One signal's part in the weights: its value is standardised with the training queries'
/// mean and standard deviation (and clipped to 3 standard deviations), then each listed
/// expert's log-weight moves by its coefficient times that.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SignalTerm {
    /// The signal: `EXPERT.top1`, `EXPERT.gap`, `EXPERT.spread`, `overlap` or `query_words`.
    pub signal: String,
    /// Its mean over the training queries.
    pub mean: f64,
    /// Its standard deviation over the training queries (> 0).
    pub sd: f64,
    /// Per expert, the change in log-weight per standard deviation.
    pub coefficients: BTreeMap<String, f64>,
}

/// The `[fusion.adaptive]` section: each expert's weight is multiplied by
/// `exp(bias + sum of coefficient x standardised signal)`, then all are scaled back to the
/// total they had, per query. Written by `ragweave fit-fusion`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AdaptiveWeights {
    /// Per expert, a constant change in log-weight.
    pub bias: BTreeMap<String, f64>,
    /// The signals that move the weights.
    pub signals: Vec<SignalTerm>,
}

impl AdaptiveWeights {
    /// Checks the signals' names, their scales and the experts named.
    pub fn validate(&self, experts: &[String]) -> Result<()> {
        let known = |key: String, name: &str| {
            if experts.iter().any(|e| e == name) {
                Ok(())
            } else {
                Err(Error::config(
                    key,
                    format!("no expert named `{name}` (experts: {experts:?})"),
                ))
            }
        };
        let finite = |key: String, v: f64| {
            if v.is_finite() {
                Ok(())
            } else {
                Err(Error::config(key, "must be a finite number"))
            }
        };
        for (name, b) in &self.bias {
            known(format!("fusion.adaptive.bias.{name}"), name.as_str())?;
            finite(format!("fusion.adaptive.bias.{name}"), *b)?;
        }
        for (i, term) in self.signals.iter().enumerate() {
            let at = format!("fusion.adaptive.signals[{i}]");
            let signal = Signal::parse(&term.signal).ok_or_else(|| {
                Error::config(
                    format!("{at}.signal"),
                    format!(
                        "unknown signal `{}`: expected EXPERT.top1, EXPERT.gap, \
                         EXPERT.spread, overlap or query_words",
                        term.signal
                    ),
                )
            })?;
            if let Some(e) = signal.expert() {
                known(format!("{at}.signal"), e)?;
            }
            finite(format!("{at}.mean"), term.mean)?;
            if !(term.sd.is_finite() && term.sd > 0.0) {
                return Err(Error::config(
                    format!("{at}.sd"),
                    "must be a finite number > 0",
                ));
            }
            for (name, c) in &term.coefficients {
                known(format!("{at}.coefficients.{name}"), name.as_str())?;
                finite(format!("{at}.coefficients.{name}"), *c)?;
            }
        }
        Ok(())
    }

    /// Each list's log-weight change for the query: what [`AdaptiveWeights::apply`] adds.
    pub fn log_weights(&self, lists: &[Scores], query: &str) -> Vec<f64> {
        let mut out: Vec<f64> = lists
            .iter()
            .map(|l| self.bias.get(&l.name).copied().unwrap_or(0.0))
            .collect();
        for term in &self.signals {
            // Validated when the pipeline was built.
            let Some(signal) = Signal::parse(&term.signal) else {
                continue;
            };
            let z = standardised(signal.value(lists, query), term.mean, term.sd);
            for (l, o) in lists.iter().zip(out.iter_mut()) {
                *o += term.coefficients.get(&l.name).copied().unwrap_or(0.0) * z;
            }
        }
        out
    }

    /// Reweighs `lists` for the query; returns a note per list ("dense 0.62").
    pub fn apply(&self, lists: &mut [RankedList], by: FuseBy, query: &str) -> Vec<String> {
        let scores: Vec<Scores> = lists.iter().map(|l| Scores::of(l, by)).collect();
        let logs = self.log_weights(&scores, query);
        reweigh(lists, &logs);
        lists
            .iter()
            .map(|l| format!("{} {:.3}", l.name, l.weight))
            .collect()
    }
}

/// How far a signal's standardised value may go: one outside what the training queries saw
/// (a corpus of long queries, a BM25 on another scale) moves a weight no further than a value
/// three standard deviations out.
pub const MAX_Z: f64 = 3.0;

/// `(value - mean) / sd`, clipped to [-MAX_Z, MAX_Z].
pub(crate) fn standardised(value: f64, mean: f64, sd: f64) -> f64 {
    ((value - mean) / sd).clamp(-MAX_Z, MAX_Z)
}

/// Multiplies each list's weight by exp(its log change) and scales the weights back to
/// their total.
pub(crate) fn reweigh(lists: &mut [RankedList], logs: &[f64]) {
    let total: f64 = lists.iter().map(|l| f64::from(l.weight)).sum();
    // Shifted by the largest change so that exp never overflows.
    let top = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let raw: Vec<f64> = lists
        .iter()
        .zip(logs)
        .map(|(l, g)| f64::from(l.weight) * (g - top).clamp(-700.0, 0.0).exp())
        .collect();
    let sum: f64 = raw.iter().sum();
    if !(sum > 0.0 && sum.is_finite()) {
        return;
    }
    for (l, r) in lists.iter_mut().zip(raw) {
        l.weight = (total * r / sum) as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithms::fusion::tests::list;
    use crate::types::{Chunk, Hit};

    #[test]
    fn signals_read_the_lists() {
        let bm25 = list("bm25", 1.0, &[("a", 20.0), ("b", 10.0), ("c", 0.0)]);
        let dense = list(
            "dense",
            1.0,
            &[("c", 0.8), ("a", 0.7), ("d", 0.6), ("e", 0.4)],
        );
        let s = [
            Scores::of(&bm25, FuseBy::Chunk),
            Scores::of(&dense, FuseBy::Chunk),
        ];
        let v = |name: &str| Signal::parse(name).unwrap().value(&s, "two words");
        assert_eq!(v("bm25.top1"), 20.0);
        assert_eq!(v("bm25.gap"), 0.5);
        assert_eq!(v("bm25.spread"), 1.0);
        assert!((v("dense.gap") - 0.25).abs() < 1e-6);
        assert!((v("dense.spread") - 0.5).abs() < 1e-6);
        // a and c in both top tens, of ten.
        assert!((v("overlap") - 0.2).abs() < 1e-9);
        assert!((v("query_words") - 3f64.ln()).abs() < 1e-9);
        assert_eq!(v("missing.top1"), 0.0);
        assert_eq!(Signal::parse("dense.nope"), None);
        for signal in Signal::all(&["bm25".into(), "dense".into()]) {
            assert_eq!(Signal::parse(&signal.to_string()), Some(signal));
        }
    }

    #[test]
    fn a_document_counts_once_at_its_best_chunk() {
        let hits = vec![
            Hit::new(Chunk::new("a#1", "a", ""), 0.5, "dense"),
            Hit::new(Chunk::new("a#0", "a", ""), 0.9, "dense"),
            Hit::new(Chunk::new("b#0", "b", ""), 0.7, "dense"),
        ];
        let l = RankedList {
            name: "dense".into(),
            weight: 1.0,
            hits,
        };
        let s = Scores::of(&l, FuseBy::Document);
        assert_eq!(s.keys, ["a", "b"]);
        assert_eq!(s.scores, [f64::from(0.9f32), f64::from(0.7f32)]);
        assert_eq!(Scores::of(&l, FuseBy::Chunk).keys.len(), 3);
    }

    #[test]
    fn weights_follow_the_signal_and_keep_their_total() {
        let weights = AdaptiveWeights {
            bias: BTreeMap::from([("dense".into(), 0.5)]),
            signals: vec![SignalTerm {
                signal: "dense.top1".into(),
                mean: 0.5,
                sd: 0.1,
                coefficients: BTreeMap::from([("dense".into(), 1.0)]),
            }],
        };
        weights.validate(&["bm25".into(), "dense".into()]).unwrap();
        let run = |top: f32| {
            let mut lists = vec![
                list("bm25", 0.5, &[("a", 3.0), ("b", 1.0)]),
                list("dense", 0.5, &[("b", top), ("a", 0.1)]),
            ];
            let notes = weights.apply(&mut lists, FuseBy::Chunk, "q");
            assert_eq!(notes.len(), 2);
            (lists[0].weight, lists[1].weight)
        };
        // At the mean only the bias counts: dense e^0.5 against bm25 e^0.
        let (b, d) = run(0.5);
        assert!((b + d - 1.0).abs() < 1e-6);
        assert!((d / b - 0.5f32.exp()).abs() < 1e-4, "{b} {d}");
        // One sd above the mean: e^1.5.
        let (b, d) = run(0.6);
        assert!((d / b - 1.5f32.exp()).abs() < 1e-3, "{b} {d}");
        let (b, d) = run(0.3);
        assert!(d < b, "a weak dense list weighs less: {b} {d}");
    }

    #[test]
    fn bad_sections_name_what_is_wrong() {
        let experts = ["bm25".to_string(), "dense".to_string()];
        let term = |signal: &str, sd: f64, expert: &str| AdaptiveWeights {
            bias: BTreeMap::new(),
            signals: vec![SignalTerm {
                signal: signal.into(),
                mean: 0.0,
                sd,
                coefficients: BTreeMap::from([(expert.to_string(), 1.0)]),
            }],
        };
        let err = |w: AdaptiveWeights| w.validate(&experts).unwrap_err().to_string();
        assert!(err(term("dense.tpo1", 1.0, "dense")).contains("signals[0].signal"));
        assert!(err(term("sparse.top1", 1.0, "dense")).contains("no expert named `sparse`"));
        assert!(err(term("overlap", 0.0, "dense")).contains("signals[0].sd"));
        assert!(err(term("overlap", 1.0, "bm52")).contains("coefficients.bm52"));
        let bias = AdaptiveWeights {
            bias: BTreeMap::from([("dense".into(), f64::NAN)]),
            signals: Vec::new(),
        };
        assert!(err(bias).contains("fusion.adaptive.bias.dense"));
    }

    #[test]
    fn extreme_log_weights_stay_finite() {
        let mut lists = vec![
            list("bm25", 1.0, &[("a", 1.0)]),
            list("dense", 1.0, &[("a", 1.0)]),
        ];
        reweigh(&mut lists, &[1e6, -1e6]);
        assert!(lists.iter().all(|l| l.weight.is_finite()));
        assert!((lists[0].weight - 2.0).abs() < 1e-6);
    }
}
