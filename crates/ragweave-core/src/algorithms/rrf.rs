//! Reciprocal rank fusion (Cormack et al., 2009), weighted and de-duplicated by chunk id.

use std::collections::HashMap;
use std::collections::hash_map::Entry as Entry_;

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
            list: usize,
            pos: usize,
            last_list: usize,
            score: f64,
        }
        let total: usize = lists.iter().map(|l| l.hits.len()).sum();
        let mut entries: Vec<Entry> = Vec::with_capacity(total);
        // (entry, list, contribution): one flat vector instead of one per entry.
        let mut parts: Vec<(usize, usize, f64)> = Vec::with_capacity(total);
        {
            // Ids are borrowed from the lists: no id is copied to fuse.
            let mut index: HashMap<&str, usize> = HashMap::with_capacity(total);
            for (li, list) in lists.iter().enumerate() {
                let mut rank = 0usize;
                for (pos, hit) in list.hits.iter().enumerate() {
                    let slot = match index.entry(hit.chunk.id.as_str()) {
                        Entry_::Occupied(e) => {
                            let i = *e.get();
                            if entries[i].last_list == li {
                                continue; // repeated within this list: its best rank counts
                            }
                            entries[i].last_list = li;
                            i
                        }
                        Entry_::Vacant(v) => {
                            v.insert(entries.len());
                            entries.push(Entry {
                                list: li,
                                pos,
                                last_list: li,
                                score: 0.0,
                            });
                            entries.len() - 1
                        }
                    };
                    rank += 1;
                    let part = f64::from(list.weight) / (f64::from(self.k) + rank as f64);
                    entries[slot].score += part;
                    parts.push((slot, li, part));
                }
            }
        }
        let mut order: Vec<usize> = (0..entries.len()).collect();
        // Stable sort: ties keep first-seen order, so fusion is deterministic.
        order.sort_by(|&a, &b| entries[b].score.total_cmp(&entries[a].score));
        order.truncate(top_k);
        let names: Vec<String> = lists.iter().map(|l| l.name.clone()).collect();
        let mut out_pos = vec![usize::MAX; entries.len()];
        for (o, &i) in order.iter().enumerate() {
            out_pos[i] = o;
        }
        let mut contributors: Vec<Vec<(usize, f64)>> = vec![Vec::new(); order.len()];
        for &(entry, list, part) in &parts {
            if let Some(c) = contributors.get_mut(out_pos[entry]) {
                c.push((list, part));
            }
        }
        let mut slots: Vec<Vec<Option<Hit>>> = lists
            .into_iter()
            .map(|l| l.hits.into_iter().map(Some).collect())
            .collect();
        order
            .into_iter()
            .zip(contributors)
            .map(|(i, mut mine)| {
                let e = &entries[i];
                let mut hit = slots[e.list][e.pos]
                    .take()
                    .expect("each entry is taken once");
                mine.sort_by(|a, b| b.1.total_cmp(&a.1));
                hit.retriever = match mine.as_slice() {
                    [(only, _)] => names[*only].clone(),
                    _ => mine
                        .iter()
                        .map(|(l, _)| names[*l].as_str())
                        .collect::<Vec<_>>()
                        .join("+"),
                };
                hit.score = e.score as f32;
                hit
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
            vec![
                list("a", 1.0, &["x", "y", "z"]),
                list("b", 1.0, &["y", "w"]),
            ],
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
