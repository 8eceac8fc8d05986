//! Ranking metrics the router needs to fit its pilots.

use std::collections::{HashMap, HashSet};

/// nDCG@k as trec_eval's `ndcg_cut` computes it (and so BEIR and pytrec_eval): linear gain
/// `rel / log2(rank + 1)`, ideal ranking from every judged document with positive grade.
///
/// `ranked` holds document ids best first; a repeated id counts once, at its best rank.
/// Returns 0 when nothing is relevant.
pub fn ndcg_at_k(ranked: &[&str], relevant: &HashMap<String, f32>, k: usize) -> f64 {
    let mut seen = HashSet::new();
    let dcg: f64 = ranked
        .iter()
        .filter(|id| seen.insert(**id))
        .take(k)
        .enumerate()
        .map(|(i, id)| {
            let rel = f64::from(relevant.get(*id).copied().unwrap_or(0.0).max(0.0));
            rel / (i as f64 + 2.0).log2()
        })
        .sum();
    let mut ideal: Vec<f64> = relevant
        .values()
        .map(|r| f64::from(*r))
        .filter(|r| *r > 0.0)
        .collect();
    ideal.sort_by(|a, b| b.total_cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, rel)| rel / (i as f64 + 2.0).log2())
        .sum();
    if idcg == 0.0 { 0.0 } else { dcg / idcg }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(pairs: &[(&str, f32)]) -> HashMap<String, f32> {
        pairs.iter().map(|(d, r)| (d.to_string(), *r)).collect()
    }

    #[test]
    fn perfect_ranking_is_one_and_empty_is_zero() {
        let r = rel(&[("a", 2.0), ("b", 1.0)]);
        assert!((ndcg_at_k(&["a", "b", "c"], &r, 10) - 1.0).abs() < 1e-12);
        assert_eq!(ndcg_at_k(&["x"], &r, 10), 0.0);
        assert_eq!(ndcg_at_k(&["a"], &HashMap::new(), 10), 0.0);
    }

    #[test]
    fn matches_a_hand_computation() {
        // Relevant a (2), b (1); ranking c, b, a.
        // DCG = 0 + 1/log2(3) + 2/log2(4) = 0.6309298 + 1.0; IDCG = 2 + 1/log2(3).
        let r = rel(&[("a", 2.0), ("b", 1.0)]);
        let got = ndcg_at_k(&["c", "b", "a"], &r, 10);
        let want = (1.0 / 3f64.log2() + 1.0) / (2.0 + 1.0 / 3f64.log2());
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        // Cut at 2 drops a.
        let cut = ndcg_at_k(&["c", "b", "a"], &r, 2);
        assert!((cut - (1.0 / 3f64.log2()) / (2.0 + 1.0 / 3f64.log2())).abs() < 1e-12);
    }

    #[test]
    fn repeated_ids_count_once() {
        let r = rel(&[("a", 1.0), ("b", 1.0)]);
        assert_eq!(
            ndcg_at_k(&["a", "a", "b"], &r, 10),
            ndcg_at_k(&["a", "b"], &r, 10)
        );
    }
}
