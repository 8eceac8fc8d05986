//! Reciprocal rank fusion (Cormack et al., 2009), weighted and de-duplicated by chunk id.

use std::collections::HashMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::types::Hit;

/// Fuses ranked lists: `score(d) = sum_i w_i / (k + rank_i(d))`, ranks from 1.
///
/// A chunk returned by several lists appears once, with the summed score, labelled with
/// every contributing list (largest contribution first). A chunk repeated within one list
/// counts at its best rank only.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Rrf {
    /// Rank offset; 60 in the original paper and in most systems.
    pub k: f32,
}

impl Default for Rrf {
    fn default() -> Self {
        Self { k: 60.0 }
    }
}

/// One ranked list to fuse.
#[derive(Debug, Clone)]
pub struct RankedList {
    /// Name of the retriever that produced it.
    pub name: String,
    /// How much it counts.
    pub weight: f32,
    /// Its hits, best first.
    pub hits: Vec<Hit>,
}

impl Rrf {
    /// Fuses `lists` and returns at most `top_k` hits, best first.
    pub fn fuse(&self, lists: Vec<RankedList>, top_k: usize) -> Vec<Hit> {
        // A single list needs no fusion; keeping its scores keeps them meaningful.
        if lists.len() == 1 {
            let mut hits = lists.into_iter().next().map(|l| l.hits).unwrap_or_default();
            dedup_in_place(&mut hits);
            hits.truncate(top_k);
            return hits;
        }
        struct Entry {
            hit: Hit,
            score: f64,
            parts: Vec<(String, f64)>,
        }
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut entries: Vec<Entry> = Vec::new();
        for list in lists {
            let mut seen_here = std::collections::HashSet::new();
            let mut rank = 0usize;
            for hit in list.hits {
                if !seen_here.insert(hit.chunk.id.clone()) {
                    continue;
                }
                rank += 1;
                let part = f64::from(list.weight) / (f64::from(self.k) + rank as f64);
                match index.get(&hit.chunk.id) {
                    Some(&i) => {
                        entries[i].score += part;
                        entries[i].parts.push((list.name.clone(), part));
                    }
                    None => {
                        index.insert(hit.chunk.id.clone(), entries.len());
                        entries.push(Entry {
                            hit,
                            score: part,
                            parts: vec![(list.name.clone(), part)],
                        });
                    }
                }
            }
        }
        // Stable sort: ties keep first-seen order, so fusion is deterministic.
        entries.sort_by(|a, b| b.score.total_cmp(&a.score));
        entries.truncate(top_k);
        entries
            .into_iter()
            .map(|mut e| {
                e.parts.sort_by(|a, b| b.1.total_cmp(&a.1));
                let names: Vec<&str> = e.parts.iter().map(|(n, _)| n.as_str()).collect();
                e.hit.retriever = names.join("+");
                e.hit.score = e.score as f32;
                e.hit
            })
            .collect()
    }
}

fn dedup_in_place(hits: &mut Vec<Hit>) {
    let mut seen = std::collections::HashSet::new();
    hits.retain(|h| seen.insert(h.chunk.id.clone()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Chunk;

    fn list(name: &str, weight: f32, ids: &[&str]) -> RankedList {
        RankedList {
            name: name.into(),
            weight,
            hits: ids
                .iter()
                .enumerate()
                .map(|(i, id)| Hit::new(Chunk::new(*id, "d", *id), 100.0 - i as f32, name))
                .collect(),
        }
    }

    fn ids(hits: &[Hit]) -> Vec<&str> {
        hits.iter().map(|h| h.chunk.id.as_str()).collect()
    }

    #[test]
    fn scores_follow_the_formula() {
        let fused = Rrf::default().fuse(
            vec![list("a", 1.0, &["x", "y", "z"]), list("b", 1.0, &["y", "w"])],
            10,
        );
        assert_eq!(ids(&fused), ["y", "x", "w", "z"]);
        let expect_y = 1.0 / 62.0 + 1.0 / 61.0;
        assert!((f64::from(fused[0].score) - expect_y).abs() < 1e-7);
        assert!((f64::from(fused[1].score) - 1.0 / 61.0).abs() < 1e-7);
        // w (rank 2 in b) and z (rank 3 in a): 1/62 > 1/63.
        assert_eq!(fused[0].retriever, "b+a");
        assert_eq!(fused[1].retriever, "a");
    }

    #[test]
    fn weights_change_the_winner() {
        let lists = || vec![list("a", 1.0, &["x", "y"]), list("b", 1.0, &["y", "x"])];
        let even = Rrf::default().fuse(lists(), 10);
        assert_eq!(even[0].score, even[1].score, "symmetric lists tie");
        let mut weighted = lists();
        weighted[1].weight = 2.0;
        assert_eq!(ids(&Rrf::default().fuse(weighted, 10)), ["y", "x"]);
    }

    #[test]
    fn duplicates_count_once_and_top_k_is_honoured() {
        let fused = Rrf::default().fuse(
            vec![list("a", 1.0, &["x", "x", "y"]), list("b", 1.0, &["z"])],
            2,
        );
        assert_eq!(fused.len(), 2);
        // In `a`, y is rank 2 (the repeated x does not push it down).
        let all = Rrf::default().fuse(
            vec![list("a", 1.0, &["x", "x", "y"]), list("b", 1.0, &["z"])],
            10,
        );
        let y = all.iter().find(|h| h.chunk.id == "y").unwrap();
        assert!((f64::from(y.score) - 1.0 / 62.0).abs() < 1e-7);
        let unique: std::collections::HashSet<_> = ids(&all).into_iter().collect();
        assert_eq!(unique.len(), all.len());
    }

    #[test]
    fn k_is_configurable_and_single_list_keeps_scores() {
        let fused = Rrf { k: 0.0 }.fuse(vec![list("a", 1.0, &["x"]), list("b", 1.0, &[])], 5);
        assert!((fused[0].score - 1.0).abs() < 1e-7);
        let single = Rrf::default().fuse(vec![list("a", 1.0, &["x", "y"])], 5);
        assert_eq!(single[0].score, 100.0);
        assert!(Rrf::default().fuse(vec![], 5).is_empty());
    }
}
