//! Fitting `[fusion.adaptive]` on training queries: coordinate ascent on mean nDCG, signals
//! chosen by forward selection under k-fold cross-validation, so that a signal is kept only
//! for what it adds on queries it was not fitted on.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::adaptive::{AdaptiveWeights, Scores, Signal, SignalTerm, standardised};
use super::fusion::Fusion;
use super::rrf::RankedList;
use crate::error::{Error, Result};

/// A training query as fusion sees it: the experts' lists (their weights set as the
/// pipeline sets them), the query's text and its judgements by fusion key.
#[derive(Debug, Clone)]
pub struct FusionExample {
    /// The query's text (for `query_words`).
    pub query: String,
    /// The experts' lists, in the pipeline's order (what `Pipeline::fusion_input` returns).
    pub lists: Vec<RankedList>,
    /// Relevance grade per document id; > 0 is relevant. Results are judged as evaluation
    /// judges them: a document ranks where its best chunk does.
    pub relevant: HashMap<String, f32>,
}

/// Settings for [`fit_adaptive`].
#[derive(Debug, Clone)]
pub struct AdaptiveFitOptions {
    /// The signals forward selection may choose from; empty: every signal of the experts.
    pub signals: Vec<Signal>,
    /// nDCG cut-off of the objective.
    pub cutoff: usize,
    /// Cross-validation folds.
    pub folds: usize,
    /// Least cross-validated gain (nDCG, 0 to 1) for which a signal is kept.
    pub min_gain: f64,
    /// L2 penalty on the coefficients, per unit squared, against overfitting.
    pub penalty: f64,
}

impl Default for AdaptiveFitOptions {
    fn default() -> Self {
        Self {
            signals: Vec::new(),
            cutoff: 10,
            folds: 5,
            min_gain: 0.001,
            penalty: 1e-4,
        }
    }
}

/// One step of forward selection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelectionStep {
    /// The signal added.
    pub signal: String,
    /// Cross-validated mean nDCG with it and the signals before it.
    pub cv_ndcg: f64,
    /// What it added to the cross-validated nDCG.
    pub gain: f64,
}

/// What fitting measured, for the closing report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdaptiveFitReport {
    /// Training queries.
    pub queries: usize,
    /// Mean nDCG of the pipeline's fixed weights.
    pub fixed_ndcg: f64,
    /// Cross-validated mean nDCG of a fitted constant reweighting (biases only).
    pub bias_cv_ndcg: f64,
    /// Per signal, what it adds alone to the biases, cross-validated.
    pub alone: BTreeMap<String, f64>,
    /// Forward selection, in the order signals were added.
    pub steps: Vec<SelectionStep>,
    /// Mean nDCG of the chosen model on all training queries (optimistic: fitted on them).
    pub train_ndcg: f64,
    /// Mean nDCG of the per-query best weighting the model could pick (of a grid of
    /// weightings): the ceiling for any signal.
    pub oracle_ndcg: f64,
}

/// A training query reduced to what the objective needs.
struct Prepared {
    /// `parts[list][key]`, over the experts in fitting order (absent lists all 0).
    parts: Vec<Vec<f64>>,
    /// The pipeline's weight per expert.
    weights: Vec<f64>,
    gains: Vec<f64>,
    /// Per key, the index of its document, for counting each document once.
    documents: Vec<usize>,
    /// Whether two keys share a document (fusing by chunk).
    repeats: bool,
    idcg: f64,
    /// Every candidate signal's raw value.
    signals: Vec<f64>,
}

/// Fits per-query weights for `fusion` on `examples`: returns the `[fusion.adaptive]`
/// section (signals standardised with the examples' statistics) and the report.
///
/// The first expert of the first example is the reference: the others' log-weights move
/// against it (moving all of them together changes no ranking).
pub fn fit_adaptive(
    fusion: &Fusion,
    examples: &[FusionExample],
    options: &AdaptiveFitOptions,
) -> Result<(AdaptiveWeights, AdaptiveFitReport)> {
    let experts: Vec<String> = examples
        .first()
        .map(|e| e.lists.iter().map(|l| l.name.clone()).collect())
        .unwrap_or_default();
    if experts.len() < 2 {
        return Err(Error::invalid(
            "fit-fusion",
            "fitting weights needs training queries and at least two experts",
        ));
    }
    if options.folds < 2 || examples.len() < options.folds {
        return Err(Error::invalid(
            "fit-fusion",
            format!(
                "{} training queries cannot be split into {} folds",
                examples.len(),
                options.folds
            ),
        ));
    }
    let candidates = if options.signals.is_empty() {
        Signal::all(&experts)
    } else {
        options.signals.clone()
    };
    let prepared: Vec<Prepared> = examples
        .iter()
        .map(|e| prepare(fusion, &experts, &candidates, e, options.cutoff))
        .collect();
    let fit = Fitter {
        prepared: &prepared,
        experts: experts.len(),
        cutoff: options.cutoff,
        penalty: options.penalty,
    };
    let all: Vec<usize> = (0..prepared.len()).collect();
    let folds: Vec<usize> = (0..prepared.len())
        .map(|i| (splitmix(i as u64) % options.folds as u64) as usize)
        .collect();
    let cv = |chosen: &[usize]| fit.cross_validated(chosen, &folds, options.folds);
    let usable: Vec<usize> = (0..candidates.len())
        .filter(|&s| fit.stats(s, &all).1 > 0.0)
        .collect();
    let bias_cv = cv(&[]);
    let alone = usable
        .iter()
        .map(|&s| (candidates[s].to_string(), cv(&[s]) - bias_cv))
        .collect();
    let mut chosen: Vec<usize> = Vec::new();
    let mut steps = Vec::new();
    let mut current = bias_cv;
    loop {
        let best = usable
            .iter()
            .filter(|s| !chosen.contains(s))
            .map(|&s| {
                let mut with = chosen.clone();
                with.push(s);
                (s, cv(&with))
            })
            .max_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((s, score)) if score - current >= options.min_gain => {
                chosen.push(s);
                steps.push(SelectionStep {
                    signal: candidates[s].to_string(),
                    cv_ndcg: score,
                    gain: score - current,
                });
                current = score;
            }
            _ => break,
        }
    }
    let theta = fit.fit(&chosen, &all);
    let train_ndcg = fit.mean_ndcg(&chosen, &theta, &all, &fit.scales(&chosen, &all));
    let weights = fit.section(&experts, &candidates, &chosen, &theta, &all);
    let report = AdaptiveFitReport {
        queries: prepared.len(),
        fixed_ndcg: fit.mean_ndcg(&[], &vec![0.0; experts.len() - 1], &all, &[]),
        bias_cv_ndcg: bias_cv,
        alone,
        steps,
        train_ndcg,
        oracle_ndcg: fit.oracle(&all),
    };
    Ok((weights, report))
}

/// Six decimals: sums of coordinate ascent's steps carry float noise (0.030000000000000002)
/// that a config should not.
fn rounded(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn splitmix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn prepare(
    fusion: &Fusion,
    experts: &[String],
    candidates: &[Signal],
    example: &FusionExample,
    cutoff: usize,
) -> Prepared {
    let scores: Vec<Scores> = example
        .lists
        .iter()
        .map(|l| Scores::of(l, fusion.by))
        .collect();
    let signals = candidates
        .iter()
        .map(|s| s.value(&scores, &example.query))
        .collect();
    let mut ordered = Vec::with_capacity(experts.len());
    let mut weights = Vec::with_capacity(experts.len());
    for name in experts {
        match example.lists.iter().find(|l| l.name == *name) {
            Some(l) => {
                weights.push(f64::from(l.weight));
                ordered.push(l.clone());
            }
            None => {
                weights.push(0.0);
                ordered.push(RankedList {
                    name: name.clone(),
                    weight: 0.0,
                    hits: Vec::new(),
                });
            }
        }
    }
    let parts = fusion.parts(ordered);
    let grade = |d: &String| f64::from(example.relevant.get(d).copied().unwrap_or(0.0).max(0.0));
    let gains = parts.documents.iter().map(grade).collect();
    let mut index: HashMap<&str, usize> = HashMap::new();
    let documents: Vec<usize> = parts
        .documents
        .iter()
        .map(|d| {
            let next = index.len();
            *index.entry(d.as_str()).or_insert(next)
        })
        .collect();
    let repeats = index.len() < documents.len();
    let mut ideal: Vec<f64> = example
        .relevant
        .values()
        .map(|g| f64::from(*g))
        .filter(|g| *g > 0.0)
        .collect();
    ideal.sort_by(|a, b| b.total_cmp(a));
    let idcg = dcg(ideal.iter().copied().take(cutoff));
    Prepared {
        parts: parts.parts,
        weights,
        gains,
        documents,
        repeats,
        idcg,
        signals,
    }
}

fn dcg(gains: impl Iterator<Item = f64>) -> f64 {
    gains
        .enumerate()
        .map(|(i, g)| g / (i as f64 + 2.0).log2())
        .sum()
}

struct Fitter<'a> {
    prepared: &'a [Prepared],
    experts: usize,
    cutoff: usize,
    penalty: f64,
}

/// Coordinate ascent's step sizes, largest first.
const STEPS: [f64; 7] = [2.0, 1.0, 0.5, 0.25, 0.1, 0.05, 0.02];
const ROUNDS: usize = 30;

impl Fitter<'_> {
    /// Mean and standard deviation of candidate signal `s` over `queries`.
    fn stats(&self, s: usize, queries: &[usize]) -> (f64, f64) {
        let n = queries.len().max(1) as f64;
        let mean = queries
            .iter()
            .map(|&q| self.prepared[q].signals[s])
            .sum::<f64>()
            / n;
        let var = queries
            .iter()
            .map(|&q| (self.prepared[q].signals[s] - mean).powi(2))
            .sum::<f64>()
            / n;
        (mean, var.sqrt())
    }

    fn scales(&self, chosen: &[usize], queries: &[usize]) -> Vec<(f64, f64)> {
        chosen
            .iter()
            .map(|&s| {
                let (m, sd) = self.stats(s, queries);
                (m, if sd > 0.0 { sd } else { 1.0 })
            })
            .collect()
    }

    /// Parameters: per expert but the first, a bias then a coefficient per chosen signal.
    fn log_weights(
        &self,
        q: &Prepared,
        chosen: &[usize],
        theta: &[f64],
        scales: &[(f64, f64)],
    ) -> Vec<f64> {
        let per = 1 + chosen.len();
        let mut out = vec![0.0; self.experts];
        for (e, o) in out.iter_mut().enumerate().skip(1) {
            let p = &theta[(e - 1) * per..e * per];
            *o = p[0];
            for (i, (&s, (m, sd))) in chosen.iter().zip(scales).enumerate() {
                *o += p[1 + i] * standardised(q.signals[s], *m, *sd);
            }
        }
        out
    }

    fn ndcg_with(&self, q: &Prepared, logs: &[f64]) -> f64 {
        if q.idcg == 0.0 {
            return 0.0;
        }
        let top = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let w: Vec<f64> = q
            .weights
            .iter()
            .zip(logs)
            .map(|(w, g)| w * (g - top).clamp(-700.0, 0.0).exp())
            .collect();
        let n = q.gains.len();
        let scores: Vec<f64> = (0..n)
            .map(|k| q.parts.iter().zip(&w).map(|(p, w)| w * p[k]).sum())
            .collect();
        // Ties in first-seen order, as fusion's stable sort keeps them.
        let cmp = |a: &usize, b: &usize| scores[*b].total_cmp(&scores[*a]).then(a.cmp(b));
        // The best `cutoff` keys, or more when chunks of one document share them.
        let mut take = self.cutoff;
        loop {
            let mut order: Vec<usize> = (0..n).collect();
            let k = take.min(n);
            if k < n {
                order.select_nth_unstable_by(k, cmp);
                order.truncate(k);
            }
            order.sort_by(cmp);
            if !q.repeats {
                return dcg(order.iter().map(|&i| q.gains[i])) / q.idcg;
            }
            let mut seen = std::collections::HashSet::new();
            let firsts: Vec<usize> = order
                .into_iter()
                .filter(|&i| seen.insert(q.documents[i]))
                .take(self.cutoff)
                .collect();
            if firsts.len() == self.cutoff || k == n {
                return dcg(firsts.iter().map(|&i| q.gains[i])) / q.idcg;
            }
            take *= 2;
        }
    }

    fn mean_ndcg(
        &self,
        chosen: &[usize],
        theta: &[f64],
        queries: &[usize],
        scales: &[(f64, f64)],
    ) -> f64 {
        let sum: f64 = queries
            .iter()
            .map(|&i| {
                let q = &self.prepared[i];
                self.ndcg_with(q, &self.log_weights(q, chosen, theta, scales))
            })
            .sum();
        sum / queries.len().max(1) as f64
    }

    /// Coordinate ascent from the pipeline's weights on `queries`.
    fn fit(&self, chosen: &[usize], queries: &[usize]) -> Vec<f64> {
        let scales = self.scales(chosen, queries);
        let mut theta = vec![0.0; (self.experts - 1) * (1 + chosen.len())];
        let objective = |t: &[f64]| {
            self.mean_ndcg(chosen, t, queries, &scales)
                - self.penalty * t.iter().map(|x| x * x).sum::<f64>()
        };
        let mut best = objective(&theta);
        for _ in 0..ROUNDS {
            let mut moved = false;
            for j in 0..theta.len() {
                let start = theta[j];
                let mut keep = start;
                for step in STEPS {
                    for sign in [1.0, -1.0] {
                        theta[j] = start + sign * step;
                        let got = objective(&theta);
                        if got > best + 1e-9 {
                            best = got;
                            keep = theta[j];
                        }
                    }
                }
                theta[j] = keep;
                moved |= keep != start;
            }
            if !moved {
                break;
            }
        }
        theta
    }

    /// Mean held-out nDCG: each fold scored by a model fitted on the others.
    fn cross_validated(&self, chosen: &[usize], folds: &[usize], k: usize) -> f64 {
        let mut sum = 0.0;
        let mut n = 0usize;
        for fold in 0..k {
            let train: Vec<usize> = (0..folds.len()).filter(|&i| folds[i] != fold).collect();
            let test: Vec<usize> = (0..folds.len()).filter(|&i| folds[i] == fold).collect();
            let theta = self.fit(chosen, &train);
            let scales = self.scales(chosen, &train);
            sum += self.mean_ndcg(chosen, &theta, &test, &scales) * test.len() as f64;
            n += test.len();
        }
        sum / n.max(1) as f64
    }

    /// The per-query best of a grid of log-weight shifts of each non-reference expert.
    fn oracle(&self, queries: &[usize]) -> f64 {
        let grid: Vec<f64> = (-12..=12).map(|i| f64::from(i) * 0.5).collect();
        let sum: f64 = queries
            .iter()
            .map(|&i| {
                let q = &self.prepared[i];
                let mut best = self.ndcg_with(q, &vec![0.0; self.experts]);
                for e in 1..self.experts {
                    for &g in &grid {
                        let mut logs = vec![0.0; self.experts];
                        logs[e] = g;
                        best = best.max(self.ndcg_with(q, &logs));
                    }
                }
                best
            })
            .sum();
        sum / queries.len().max(1) as f64
    }

    /// The fitted model as a `[fusion.adaptive]` section.
    fn section(
        &self,
        experts: &[String],
        candidates: &[Signal],
        chosen: &[usize],
        theta: &[f64],
        queries: &[usize],
    ) -> AdaptiveWeights {
        let per = 1 + chosen.len();
        let scales = self.scales(chosen, queries);
        let mut weights = AdaptiveWeights::default();
        for (e, name) in experts.iter().enumerate().skip(1) {
            let p = &theta[(e - 1) * per..e * per];
            if p[0] != 0.0 {
                weights.bias.insert(name.clone(), rounded(p[0]));
            }
        }
        for (i, (&s, (mean, sd))) in chosen.iter().zip(scales).enumerate() {
            let coefficients = experts
                .iter()
                .enumerate()
                .skip(1)
                .map(|(e, name)| (name.clone(), rounded(theta[(e - 1) * per + 1 + i])))
                .filter(|(_, c)| *c != 0.0)
                .collect();
            weights.signals.push(SignalTerm {
                signal: candidates[s].to_string(),
                mean: rounded(mean),
                sd: rounded(sd),
                coefficients,
            });
        }
        weights
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithms::fusion::{FuseBy, FusionMethod};
    use crate::types::{Chunk, Hit};

    fn list(name: &str, scored: &[(String, f32)]) -> RankedList {
        RankedList {
            name: name.into(),
            weight: 0.5,
            hits: scored
                .iter()
                .map(|(id, s)| Hit::new(Chunk::new(id.clone(), id.clone(), ""), *s, name))
                .collect(),
        }
    }

    /// Queries where the expert whose best result stands out is right: `a` when its gap is
    /// wide, `b` otherwise. A fixed weighting ranks one expert's best first on every query.
    fn examples(n: usize) -> Vec<FusionExample> {
        (0..n)
            .map(|i| {
                let a_knows = i % 2 == 0;
                let lead = if a_knows { 5.0 } else { 1.1 };
                let a: Vec<(String, f32)> = (0..12)
                    .map(|r| {
                        (
                            format!("a{i}-{r}"),
                            if r == 0 {
                                lead + 10.0
                            } else {
                                10.0 - r as f32 * 0.1
                            },
                        )
                    })
                    .collect();
                let b: Vec<(String, f32)> = (0..12)
                    .map(|r| (format!("b{i}-{r}"), 0.9 - r as f32 * 0.01))
                    .collect();
                let relevant = if a_knows { "a" } else { "b" };
                FusionExample {
                    query: format!("query {i}"),
                    lists: vec![list("a", &a), list("b", &b)],
                    relevant: HashMap::from([(format!("{relevant}{i}-0"), 1.0)]),
                }
            })
            .collect()
    }

    #[test]
    fn a_signal_that_says_which_expert_is_right_is_found_and_kept() {
        let fusion = Fusion {
            method: FusionMethod::Score,
            ..Fusion::default()
        };
        let (weights, report) =
            fit_adaptive(&fusion, &examples(40), &AdaptiveFitOptions::default()).unwrap();
        // Half the queries find their document second: (1 + 1 / log2(3)) / 2.
        assert!(report.fixed_ndcg < 0.82, "{report:?}");
        assert!(
            report.steps.iter().any(|s| s.signal.starts_with("a.")),
            "{report:?}"
        );
        assert!(report.train_ndcg > 0.99, "{report:?}");
        assert!(report.steps[0].cv_ndcg > 0.95, "{report:?}");
        assert!(report.oracle_ndcg >= report.train_ndcg - 1e-9);
        // The section it writes is valid and, applied the pipeline's way, ranks as fitted.
        weights.validate(&["a".into(), "b".into()]).unwrap();
        let mut right = 0;
        for example in examples(40) {
            let mut lists = example.lists.clone();
            weights.apply(&mut lists, fusion.by, &example.query);
            let hits = fusion.fuse(lists, 1);
            right += usize::from(example.relevant.contains_key(&hits[0].chunk.id));
        }
        assert_eq!(right, 40);
    }

    #[test]
    fn noise_is_not_kept() {
        // Every query's answer is b's best, whatever the signals say: biases suffice.
        let fusion = Fusion {
            method: FusionMethod::Score,
            ..Fusion::default()
        };
        let mut ex = examples(40);
        for (i, e) in ex.iter_mut().enumerate() {
            e.relevant = HashMap::from([(format!("b{i}-0"), 1.0)]);
        }
        let (weights, report) = fit_adaptive(&fusion, &ex, &AdaptiveFitOptions::default()).unwrap();
        assert!(report.steps.is_empty(), "{report:?}");
        assert!(weights.signals.is_empty());
        assert!(
            weights.bias.get("b").is_some_and(|b| *b > 0.0),
            "{weights:?}"
        );
    }

    #[test]
    fn the_objective_ranks_as_fusion_does() {
        for method in [
            FusionMethod::Rrf,
            FusionMethod::Score,
            FusionMethod::ZScore,
            FusionMethod::Dbsf,
        ] {
            for by in [FuseBy::Chunk, FuseBy::Document] {
                let fusion = Fusion {
                    method,
                    by,
                    ..Fusion::default()
                };
                for (i, example) in examples(6).into_iter().enumerate() {
                    let mut lists = example.lists.clone();
                    // Shared results so that parts add up.
                    lists[1].hits[3].chunk = lists[0].hits[2].chunk.clone();
                    lists[1].weight = 0.2 + 0.3 * i as f32;
                    let parts = fusion.parts(lists.clone());
                    let fused = fusion.fuse(lists.clone(), 30);
                    let score = |k: usize| -> f64 {
                        lists
                            .iter()
                            .zip(&parts.parts)
                            .map(|(l, p)| f64::from(l.weight) * p[k])
                            .sum()
                    };
                    let mut order: Vec<usize> = (0..parts.documents.len()).collect();
                    order.sort_by(|a, b| score(*b).total_cmp(&score(*a)));
                    let ours: Vec<&str> =
                        order.iter().map(|&k| parts.documents[k].as_str()).collect();
                    let theirs: Vec<&str> =
                        fused.iter().map(|h| h.chunk.document_id.as_str()).collect();
                    assert_eq!(ours, theirs, "{method:?} {by:?}");
                }
            }
        }
    }

    #[test]
    fn too_little_to_fit_is_an_error() {
        let fusion = Fusion::default();
        let mut one = examples(10);
        for e in &mut one {
            e.lists.truncate(1);
        }
        assert!(fit_adaptive(&fusion, &one, &AdaptiveFitOptions::default()).is_err());
        assert!(fit_adaptive(&fusion, &examples(3), &AdaptiveFitOptions::default()).is_err());
    }
}
