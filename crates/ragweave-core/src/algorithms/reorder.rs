//! Prompt layouts and token budgets: rank order, and the long-context reorder that puts the
//! best passages at both ends (Long-Context LLMs Meet RAG, arXiv 2410.05983).

use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::query::Query;
use crate::traits::context_arranger::ContextArranger;
use crate::traits::token_counter::{ApproxTokenCounter, TokenCounter};
use crate::types::Hit;

/// Returns `ranked` (best first, d1 > d2 > ... > dk) in the paper's layout:
/// d1, d3, d5, ..., d6, d4, d2, so the best passages sit at the two ends of the prompt
/// and the weakest in the middle, where long-context models read worst.
pub fn long_context_order<T>(ranked: Vec<T>) -> Vec<T> {
    let mut front = Vec::with_capacity(ranked.len());
    let mut back = Vec::with_capacity(ranked.len() / 2);
    for (i, item) in ranked.into_iter().enumerate() {
        if i % 2 == 0 {
            front.push(item);
        } else {
            back.push(item);
        }
    }
    front.extend(back.into_iter().rev());
    front
}

/// How much context the prompt may hold: also the fields of the `rank_order` and
/// `long_context_reorder` arranger kinds.
#[derive(Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ContextBudget {
    /// Most tokens of passage text (estimated at 4 bytes a token, or counted by the
    /// arranger's token counter where code sets one); unset is unlimited.
    pub max_tokens: Option<usize>,
    /// Most passages; unset is unlimited.
    pub max_passages: Option<usize>,
    /// Counts tokens the way the generator will.
    #[serde(skip, default = "approx_counter")]
    pub counter: Arc<dyn TokenCounter>,
}

fn approx_counter() -> Arc<dyn TokenCounter> {
    Arc::new(ApproxTokenCounter)
}

impl Default for ContextBudget {
    fn default() -> Self {
        Self {
            max_tokens: None,
            max_passages: None,
            counter: approx_counter(),
        }
    }
}

impl std::fmt::Debug for ContextBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContextBudget")
            .field("max_tokens", &self.max_tokens)
            .field("max_passages", &self.max_passages)
            .finish_non_exhaustive()
    }
}

impl ContextBudget {
    /// Keeps hits in rank order while they fit. A passage too long for what is left is
    /// skipped and shorter, lower-ranked ones may still fill the space.
    pub fn trim(&self, hits: Vec<Hit>) -> Vec<Hit> {
        let max_passages = self.max_passages.unwrap_or(usize::MAX);
        let Some(max_tokens) = self.max_tokens else {
            let mut hits = hits;
            hits.truncate(max_passages);
            return hits;
        };
        let mut used = 0;
        let mut kept = Vec::new();
        for hit in hits {
            if kept.len() == max_passages {
                break;
            }
            let cost = self.counter.count(&hit.chunk.text);
            if used + cost <= max_tokens {
                used += cost;
                kept.push(hit);
            }
        }
        kept
    }
}

/// Trims to the budget and keeps rank order (best first): arranger kind `rank_order`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RankOrder {
    /// The budget.
    #[serde(flatten, deserialize_with = "crate::config::flat")]
    pub budget: ContextBudget,
}

impl ContextArranger for RankOrder {
    fn name(&self) -> &str {
        "rank_order"
    }

    fn arrange(&self, _query: &Query, hits: Vec<Hit>) -> Vec<Hit> {
        self.budget.trim(hits)
    }
}

/// Trims to the budget, then lays passages out best-at-both-ends ([`long_context_order`]):
/// arranger kind `long_context_reorder`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LongContextReorder {
    /// The budget.
    #[serde(flatten, deserialize_with = "crate::config::flat")]
    pub budget: ContextBudget,
}

impl ContextArranger for LongContextReorder {
    fn name(&self) -> &str {
        "long_context_reorder"
    }

    fn arrange(&self, _query: &Query, hits: Vec<Hit>) -> Vec<Hit> {
        long_context_order(self.budget.trim(hits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Chunk;

    fn order(k: usize) -> Vec<usize> {
        long_context_order((1..=k).collect())
    }

    #[test]
    fn layout_matches_the_paper_for_k_0_to_7() {
        let expected: [&[usize]; 8] = [
            &[],
            &[1],
            &[1, 2],
            &[1, 3, 2],
            &[1, 3, 4, 2],
            &[1, 3, 5, 4, 2],
            &[1, 3, 5, 6, 4, 2],
            &[1, 3, 5, 7, 6, 4, 2],
        ];
        for (k, want) in expected.iter().enumerate() {
            assert_eq!(order(k), *want, "k = {k}");
        }
    }

    #[test]
    fn best_two_are_at_the_ends_for_every_k() {
        for k in 2..40 {
            let o = order(k);
            assert_eq!(o[0], 1);
            assert_eq!(*o.last().unwrap(), 2);
            let mut sorted = o.clone();
            sorted.sort();
            assert_eq!(sorted, (1..=k).collect::<Vec<_>>(), "a permutation");
        }
    }

    fn hit(id: &str, words: usize) -> Hit {
        Hit::new(Chunk::new(id, "d", "w ".repeat(words)), 1.0, "r")
    }

    #[test]
    fn budget_keeps_rank_order_and_skips_what_does_not_fit() {
        let budget = ContextBudget {
            max_tokens: Some(10),
            ..Default::default()
        };
        let kept = budget.trim(vec![hit("a", 6), hit("b", 6), hit("c", 3), hit("d", 3)]);
        let ids: Vec<_> = kept.iter().map(|h| h.chunk.id.as_str()).collect();
        assert_eq!(ids, ["a", "c"]);
        let capped = ContextBudget {
            max_passages: Some(1),
            ..Default::default()
        };
        assert_eq!(capped.trim(vec![hit("a", 1), hit("b", 1)]).len(), 1);
    }

    #[test]
    fn reorder_arranger_trims_then_reorders() {
        let arranger = LongContextReorder {
            budget: ContextBudget {
                max_passages: Some(4),
                ..Default::default()
            },
        };
        let hits = (1..=6).map(|i| hit(&format!("d{i}"), 1)).collect();
        let out = arranger.arrange(&Query::new("q"), hits);
        let ids: Vec<_> = out.iter().map(|h| h.chunk.id.as_str()).collect();
        assert_eq!(ids, ["d1", "d3", "d4", "d2"]);
    }
}
