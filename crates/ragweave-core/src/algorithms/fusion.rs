//! How a pipeline merges its experts' ranked lists: by rank (RRF) or by calibrated score.

use std::collections::{BTreeMap, HashMap};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::adaptive::AdaptiveWeights;
use super::rrf::{RankedList, Rrf};
use crate::error::{Error, Result};
use crate::types::Hit;

/// The fusion method.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FusionMethod {
    /// Reciprocal rank fusion: ranks only, robust to scores on different scales.
    #[default]
    Rrf,
    /// Each list's scores min-max normalised to [0, 1], then a weighted sum (a convex
    /// combination when the weights sum to 1); a list missing a hit adds 0. Keeps how much
    /// better one hit is than the next, which ranks throw away (Bruch et al., 2023).
    Score,
    /// As `score`, with each list's scores standardised (minus their mean, over their
    /// standard deviation); a list missing a hit adds its lowest standardised score, so that
    /// absence is never worth more than the worst hit. An outlying top score keeps its lead
    /// instead of squeezing the rest of the list towards 0.
    ZScore,
    /// Distribution-based score fusion, as Qdrant's DBSF: as `score`, with each list's
    /// scores mapped from [mean - 3 sd, mean + 3 sd] to [0, 1] (clipped); a list missing a
    /// hit adds its lowest mapped score (where Qdrant adds nothing).
    Dbsf,
}

/// What counts as the same result in two lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FuseBy {
    /// The chunk id: experts over one store agree on chunks.
    #[default]
    Chunk,
    /// The document id: each list keeps a document's best chunk, and lists agree on
    /// documents. Needed when experts chunk differently (a BM25 index of whole documents
    /// beside a vector index of passages), whose chunk ids never match.
    Document,
}

/// The `[fusion]` section: method, RRF's k, and a weight per expert.
///
/// A router's weight for an expert multiplies the expert's weight here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Fusion {
    /// `rrf` (default); `score` (min-max), `z_score` or `dbsf`: scores normalised per list.
    pub method: FusionMethod,
    /// RRF's rank offset; 60 in the original paper and in most systems.
    pub k: f32,
    /// Weight per expert name; experts not listed weigh 1.
    pub weights: BTreeMap<String, f32>,
    /// `chunk` (default) or `document`: what two lists must share to be one result.
    pub by: FuseBy,
    /// Whether each expert also scores the candidates that only other experts found (with
    /// its retriever's `score_documents`), so that a candidate's fused score never lacks a
    /// part; needs `by = "document"`.
    pub score_union: bool,
    /// Per-query weights: signals of the query's lists move each expert's weight
    /// (`[fusion.adaptive]`, written by `ragweave fit-fusion`).
    pub adaptive: Option<AdaptiveWeights>,
}

impl Default for Fusion {
    fn default() -> Self {
        Self {
            method: FusionMethod::Rrf,
            k: Rrf::default().k,
            weights: BTreeMap::new(),
            by: FuseBy::Chunk,
            score_union: false,
            adaptive: None,
        }
    }
}

impl From<Rrf> for Fusion {
    fn from(rrf: Rrf) -> Self {
        Self {
            k: rrf.k,
            ..Self::default()
        }
    }
}

impl Fusion {
    /// The configured weight of `expert` (1 when not listed).
    pub fn weight(&self, expert: &str) -> f32 {
        self.weights.get(expert).copied().unwrap_or(1.0)
    }

    /// Checks k and the weights against the pipeline's expert names.
    pub fn validate(&self, experts: &[String]) -> Result<()> {
        if !(self.k.is_finite() && self.k >= 0.0) {
            return Err(Error::config("fusion.k", "must be a finite number >= 0"));
        }
        if self.score_union && self.by != FuseBy::Document {
            return Err(Error::config(
                "fusion.score_union",
                "experts score the union by document: set `by = \"document\"` as well",
            ));
        }
        if let Some(adaptive) = &self.adaptive {
            adaptive.validate(experts)?;
        }
        for (name, w) in &self.weights {
            if !experts.contains(name) {
                return Err(Error::config(
                    format!("fusion.weights.{name}"),
                    format!("no expert named `{name}` (experts: {experts:?})"),
                ));
            }
            if !(w.is_finite() && *w >= 0.0) {
                return Err(Error::config(
                    format!("fusion.weights.{name}"),
                    "must be a finite number >= 0",
                ));
            }
        }
        Ok(())
    }

    /// Fuses `lists` (their weights already set) into at most `top_k` hits, best first.
    pub fn fuse(&self, mut lists: Vec<RankedList>, top_k: usize) -> Vec<Hit> {
        if self.by == FuseBy::Document {
            by_document(&mut lists);
        }
        match self.method {
            FusionMethod::Rrf => Rrf { k: self.k }.fuse(lists, top_k),
            _ if lists.len() == 1 => Rrf { k: self.k }.fuse(lists, top_k),
            method => score_fuse(lists, top_k, method),
        }
    }
}

/// What each list adds to each fused result, before weighting: `parts[list][key]`, 0 where
/// the list lacks the key (a chunk id, or a document's first chunk id when fusing by
/// document); keys in first-seen order. A result's fused score is `sum of weight x part`
/// plus a constant, so ranking by it ranks as [`Fusion::fuse`] does.
pub(crate) struct Parts {
    /// Each key's document id.
    pub(crate) documents: Vec<String>,
    pub(crate) parts: Vec<Vec<f64>>,
}

impl Fusion {
    /// The unweighted parts of `lists`, as [`Fusion::fuse`] would add them up.
    pub(crate) fn parts(&self, mut lists: Vec<RankedList>) -> Parts {
        if self.by == FuseBy::Document {
            by_document(&mut lists);
        }
        let mut documents: Vec<String> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut by_list: Vec<Vec<(usize, f64)>> = Vec::with_capacity(lists.len());
        for list in &lists {
            let values: Vec<f64> = match self.method {
                FusionMethod::Rrf => Vec::new(),
                method => {
                    let Normalised { scores, floor } = normalise(&list.hits, method);
                    scores.into_iter().map(|s| s - floor).collect()
                }
            };
            let mut mine: HashMap<usize, f64> = HashMap::new();
            let mut rank = 0usize;
            for (pos, hit) in list.hits.iter().enumerate() {
                let key = match index.get(&hit.chunk.id) {
                    Some(&k) => k,
                    None => {
                        index.insert(hit.chunk.id.clone(), documents.len());
                        documents.push(hit.chunk.document_id.clone());
                        documents.len() - 1
                    }
                };
                let part = match self.method {
                    FusionMethod::Rrf => {
                        if mine.contains_key(&key) {
                            continue;
                        }
                        rank += 1;
                        1.0 / (f64::from(self.k) + rank as f64)
                    }
                    _ => values[pos],
                };
                let best = mine.entry(key).or_insert(part);
                *best = best.max(part);
            }
            by_list.push(mine.into_iter().collect());
        }
        let parts = by_list
            .into_iter()
            .map(|mine| {
                let mut row = vec![0.0; documents.len()];
                for (k, p) in mine {
                    row[k] = p;
                }
                row
            })
            .collect();
        Parts { documents, parts }
    }
}

/// A hit being fused: its summed score and each list's part of it.
struct Fused {
    hit: Hit,
    score: f64,
    parts: Vec<(usize, f64)>,
}

/// Keeps each document's best chunk per list and gives every list's hit for a document the
/// chunk id of the first one seen, so fusion keyed on chunk ids merges documents. The hit
/// that survives fusion is that first one, unchanged.
fn by_document(lists: &mut [RankedList]) {
    let mut first: HashMap<String, String> = HashMap::new();
    for list in lists.iter_mut() {
        let mut seen = std::collections::HashSet::new();
        list.hits
            .retain(|h| seen.insert(h.chunk.document_id.clone()));
        for hit in &mut list.hits {
            match first.get(&hit.chunk.document_id) {
                Some(id) => hit.chunk.id = id.clone(),
                None => {
                    first.insert(hit.chunk.document_id.clone(), hit.chunk.id.clone());
                }
            }
        }
    }
}

/// A list's scores mapped onto a common scale, and the value of the list's worst hit on it.
struct Normalised {
    scores: Vec<f64>,
    floor: f64,
}

fn normalise(hits: &[Hit], method: FusionMethod) -> Normalised {
    let raw: Vec<f64> = hits.iter().map(|h| f64::from(h.score)).collect();
    // The scale comes from the finite scores alone; a NaN or infinite one is placed at the
    // list's floor, so one bad score cannot spoil the others.
    let finite: Vec<f64> = raw.iter().copied().filter(|s| s.is_finite()).collect();
    let (lo, hi) = finite
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &s| {
            (lo.min(s), hi.max(s))
        });
    let span = hi - lo;
    if finite.is_empty() || span <= 0.0 {
        // One hit, or all tied: each is as good as the list's best, and absence is worth
        // what min-max gives it.
        let scores = raw
            .iter()
            .map(|s| if s.is_finite() { 1.0 } else { 0.0 })
            .collect();
        return Normalised { scores, floor: 0.0 };
    }
    let n = finite.len() as f64;
    let mean = finite.iter().sum::<f64>() / n;
    let sd = (finite.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / n).sqrt();
    let map = |s: f64| match method {
        FusionMethod::ZScore => (s - mean) / sd,
        FusionMethod::Dbsf => ((s - (mean - 3.0 * sd)) / (6.0 * sd)).clamp(0.0, 1.0),
        FusionMethod::Score | FusionMethod::Rrf => (s - lo) / span,
    };
    let floor = map(lo);
    let scores = raw
        .iter()
        .map(|&s| if s.is_finite() { map(s) } else { floor })
        .collect();
    Normalised { scores, floor }
}

fn score_fuse(lists: Vec<RankedList>, top_k: usize, method: FusionMethod) -> Vec<Hit> {
    let mut fused: Vec<Fused> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let names: Vec<String> = lists.iter().map(|l| l.name.clone()).collect();
    // Every hit starts with what each list gives a hit it lacks; a list that has it adds the
    // difference.
    let mut absent = 0.0;
    for (li, list) in lists.into_iter().enumerate() {
        if list.hits.is_empty() {
            continue;
        }
        let Normalised { scores, floor } = normalise(&list.hits, method);
        let weight = f64::from(list.weight);
        absent += weight * floor;
        for (hit, norm) in list.hits.into_iter().zip(scores) {
            let part = weight * (norm - floor);
            match index.get(&hit.chunk.id) {
                Some(&i) => {
                    let entry = &mut fused[i];
                    // A chunk repeated within one list counts once, at its best score.
                    if let Some(c) = entry.parts.iter_mut().find(|c| c.0 == li) {
                        if part > c.1 {
                            entry.score += part - c.1;
                            c.1 = part;
                        }
                    } else {
                        entry.score += part;
                        entry.parts.push((li, part));
                    }
                }
                None => {
                    index.insert(hit.chunk.id.clone(), fused.len());
                    fused.push(Fused {
                        hit,
                        score: part,
                        parts: vec![(li, part)],
                    });
                }
            }
        }
    }
    // Stable: ties keep first-seen order.
    fused.sort_by(|a, b| b.score.total_cmp(&a.score));
    fused.truncate(top_k);
    fused
        .into_iter()
        .map(
            |Fused {
                 mut hit,
                 score,
                 mut parts,
             }| {
                parts.sort_by(|a, b| b.1.total_cmp(&a.1));
                hit.retriever = parts
                    .iter()
                    .map(|(l, _)| names[*l].as_str())
                    .collect::<Vec<_>>()
                    .join("+");
                hit.score = (score + absent) as f32;
                hit
            },
        )
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::types::Chunk;

    /// A list of hits with these chunk ids (all of document "d") and scores.
    pub(crate) fn list(name: &str, weight: f32, scored: &[(&str, f32)]) -> RankedList {
        RankedList {
            name: name.into(),
            weight,
            hits: scored
                .iter()
                .map(|(id, s)| Hit::new(Chunk::new(*id, "d", *id), *s, name))
                .collect(),
        }
    }

    const SCORE_METHODS: [FusionMethod; 3] = [
        FusionMethod::Score,
        FusionMethod::ZScore,
        FusionMethod::Dbsf,
    ];

    fn fuse_with(method: FusionMethod, lists: Vec<RankedList>, top_k: usize) -> Vec<Hit> {
        Fusion {
            method,
            ..Fusion::default()
        }
        .fuse(lists, top_k)
    }

    #[test]
    fn score_fusion_normalises_each_list_and_weighs_it() {
        let fusion = Fusion {
            method: FusionMethod::Score,
            ..Fusion::default()
        };
        // bm25: x 10 (1.0), y 6 (0.5), z 2 (0.0); dense: y 0.9 (1.0), w 0.5 (0.0).
        let lists = || {
            vec![
                list("bm25", 1.0, &[("x", 10.0), ("y", 6.0), ("z", 2.0)]),
                list("dense", 1.0, &[("y", 0.9), ("w", 0.5)]),
            ]
        };
        let hits = fusion.fuse(lists(), 10);
        let got: Vec<(&str, f32)> = hits
            .iter()
            .map(|h| (h.chunk.id.as_str(), h.score))
            .collect();
        assert_eq!(got, [("y", 1.5), ("x", 1.0), ("z", 0.0), ("w", 0.0)]);
        assert_eq!(hits[0].retriever, "dense+bm25");
        // Weighting dense down to 0.2 lets bm25's best win.
        let mut weighted = lists();
        weighted[1].weight = 0.2;
        let hits = fusion.fuse(weighted, 2);
        assert_eq!(hits[0].chunk.id, "x");
        assert!((hits[1].score - 0.7).abs() < 1e-6);
    }

    #[test]
    fn z_score_and_dbsf_normalise_by_each_lists_distribution() {
        // bm25: mean 6, sd sqrt(32/3); dense: mean 0.7, sd 0.2.
        let lists = || {
            vec![
                list("bm25", 1.0, &[("x", 10.0), ("y", 6.0), ("z", 2.0)]),
                list("dense", 1.0, &[("y", 0.9), ("w", 0.5)]),
            ]
        };
        let fused = |method| {
            fuse_with(method, lists(), 10)
                .into_iter()
                .map(|h| (h.chunk.id, f64::from(h.score)))
                .collect::<Vec<_>>()
        };
        let sd = (32.0f64 / 3.0).sqrt();
        // A list lacking a hit gives it the list's lowest value: bm25 -4/sd, dense -1.
        let z = |b: f64, d: f64| b / sd + d;
        let expect = [
            ("y", z(0.0, 1.0)),
            ("x", z(4.0, -1.0)),
            ("z", z(-4.0, -1.0)),
            ("w", z(-4.0, -1.0)),
        ];
        let z_fused = fused(FusionMethod::ZScore);
        assert_eq!(z_fused.len(), expect.len());
        for ((id, got), (want_id, want)) in z_fused.iter().zip(expect) {
            assert_eq!(id, want_id);
            assert!((got - want).abs() < 1e-5, "{id}: {got} against {want}");
        }
        // DBSF maps mean +- 3 sd onto [0, 1]: bm25 x 0.5 + 4/(6 sd), dense y 0.5 + 1/6.
        let dbsf = fused(FusionMethod::Dbsf);
        let b = |s: f64| 0.5 + (s - 6.0) / (6.0 * sd);
        let d = |s: f64| 0.5 + (s - 0.7) / 1.2;
        assert_eq!(dbsf[0].0, "y");
        assert!((dbsf[0].1 - (b(6.0) + d(0.9))).abs() < 1e-5, "{dbsf:?}");
        assert_eq!(dbsf[1].0, "x");
        assert!((dbsf[1].1 - (b(10.0) + d(0.5))).abs() < 1e-5, "{dbsf:?}");
    }

    #[test]
    fn dbsf_clips_an_outlier_at_three_standard_deviations_where_z_score_does_not() {
        // Twenty hits at 1 and one at 100: the outlier is 4.47 sd above the mean.
        let mut scored: Vec<(String, f32)> = (0..20).map(|i| (format!("c{i}"), 1.0)).collect();
        scored.push(("outlier".into(), 100.0));
        let scored: Vec<(&str, f32)> = scored.iter().map(|(id, s)| (id.as_str(), *s)).collect();
        let fused = |method| {
            fuse_with(
                method,
                vec![
                    list("a", 1.0, &scored),
                    list("b", 1.0, &[("c0", 2.0), ("c1", 1.0)]),
                ],
                30,
            )
        };
        let top = |hits: &[Hit]| (hits[0].chunk.id.clone(), f64::from(hits[0].score));
        let mean = 120.0 / 21.0;
        let sd = ((20.0 * (1.0f64 - mean).powi(2) + (100.0 - mean).powi(2)) / 21.0).sqrt();
        // List b (2, 1) gives a hit it lacks its floor: z-score -1, DBSF 1/3.
        let (id, z) = top(&fused(FusionMethod::ZScore));
        assert_eq!(id, "outlier");
        let want = (100.0 - mean) / sd - 1.0;
        assert!(
            (z - want).abs() < 1e-4,
            "the whole lead: {z} against {want}"
        );
        let (id, d) = top(&fused(FusionMethod::Dbsf));
        assert_eq!(id, "outlier");
        // Unclipped it would be 1.245 + 1/3.
        assert!(
            (d - 4.0 / 3.0).abs() < 1e-4,
            "DBSF clips at mean + 3 sd: {d}"
        );
    }

    #[test]
    fn a_non_finite_score_sinks_alone() {
        for method in SCORE_METHODS {
            let hits = fuse_with(
                method,
                vec![
                    list("a", 1.0, &[("x", 3.0), ("bad", f32::NAN), ("y", 1.0)]),
                    list("b", 0.0, &[("y", f32::INFINITY), ("x", 1.0), ("z", 0.5)]),
                ],
                10,
            );
            assert!(
                hits.iter().all(|h| h.score.is_finite()),
                "{method:?}: {hits:?}"
            );
            assert_eq!(hits[0].chunk.id, "x", "{method:?}");
        }
    }

    #[test]
    fn a_list_of_one_or_of_ties_does_not_divide_by_zero() {
        for method in SCORE_METHODS {
            let hits = fuse_with(
                method,
                vec![
                    list("a", 1.0, &[("x", 3.0), ("y", 3.0)]),
                    list("b", 1.0, &[("y", 7.0)]),
                ],
                10,
            );
            assert!(hits.iter().all(|h| h.score.is_finite()), "{method:?}");
            assert_eq!(hits[0].chunk.id, "y", "{method:?}: found by both");
        }
    }

    #[test]
    fn fusing_by_document_merges_lists_that_chunk_differently() {
        let hit = |chunk: &str, doc: &str, score: f32, list: &str| {
            Hit::new(Chunk::new(chunk, doc, chunk), score, list)
        };
        // BM25 over whole documents; dense over passages (two of document a).
        let lists = || {
            vec![
                RankedList {
                    name: "bm25".into(),
                    weight: 1.0,
                    hits: vec![hit("a", "a", 9.0, "bm25"), hit("b", "b", 5.0, "bm25")],
                },
                RankedList {
                    name: "dense".into(),
                    weight: 1.0,
                    hits: vec![
                        hit("b#0", "b", 0.9, "dense"),
                        hit("a#1", "a", 0.8, "dense"),
                        hit("a#0", "a", 0.7, "dense"),
                    ],
                },
            ]
        };
        let by_chunk = Fusion::default().fuse(lists(), 10);
        assert_eq!(by_chunk.len(), 5, "no chunk id is shared");
        let fused = Fusion {
            by: FuseBy::Document,
            ..Fusion::default()
        }
        .fuse(lists(), 10);
        let docs: Vec<&str> = fused.iter().map(|h| h.chunk.document_id.as_str()).collect();
        assert_eq!(docs, ["a", "b"]);
        // Each document is found by both lists, and keeps the first list's chunk.
        assert_eq!(fused[0].retriever, "bm25+dense");
        assert_eq!(fused[0].chunk.id, "a");
        let expect = 1.0 / 61.0 + 1.0 / 62.0;
        assert!((f64::from(fused[0].score) - expect).abs() < 1e-7);
    }

    #[test]
    fn weights_are_checked_against_the_experts() {
        let experts = vec!["bm25".to_string(), "dense".to_string()];
        let mut f = Fusion::default();
        f.weights.insert("dense".into(), 0.5);
        assert!(f.validate(&experts).is_ok());
        assert_eq!((f.weight("dense"), f.weight("bm25")), (0.5, 1.0));
        f.weights.insert("dnese".into(), 0.5);
        let err = f.validate(&experts).unwrap_err().to_string();
        assert!(err.contains("fusion.weights.dnese"), "{err}");
        f.weights.remove("dnese");
        f.weights.insert("bm25".into(), -1.0);
        assert!(f.validate(&experts).is_err());
    }
}
