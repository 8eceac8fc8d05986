//! Stages 2 to 5 together: what `retrieve` runs, and what answering starts with.

use std::sync::Arc;

use super::builder::ExpertFailure;
use super::experts::{Expert, run_experts};
use super::rank::rank;
use super::route::route;
use super::transform::{Transform, transformed};
use super::union::score_union;
use crate::algorithms::fusion::Fusion;
use crate::algorithms::rrf::RankedList;
use crate::answer::Trace;
use crate::error::Result;
use crate::query::Query;
use crate::traits::reranker::Reranker;
use crate::traits::router::Router;
use crate::types::Hit;

/// Everything between the question and the ranked hits.
pub(crate) struct Retrieval {
    pub(crate) transforms: Vec<Transform>,
    pub(crate) router: Option<Arc<dyn Router>>,
    pub(crate) experts: Vec<Expert>,
    pub(crate) expert_names: Vec<String>,
    pub(crate) expert_failure: ExpertFailure,
    pub(crate) fusion: Fusion,
    pub(crate) candidates: Option<usize>,
    pub(crate) reranker: Option<Arc<dyn Reranker>>,
}

/// A query retrieved for: the query as the transforms left it, and the ranked hits.
pub(crate) struct Retrieved {
    pub(crate) query: Query,
    pub(crate) hits: Vec<Hit>,
}

/// What fusion is given for a query: the query, the experts' lists and how deep to fuse.
pub(crate) struct FusionInput {
    pub(crate) query: Query,
    pub(crate) lists: Vec<RankedList>,
    pub(crate) depth: usize,
}

impl Retrieval {
    /// Transforms, routes, runs the chosen experts, fuses and reranks.
    pub(crate) async fn retrieve(&self, query: Query, trace: &mut Trace) -> Result<Retrieved> {
        let FusionInput {
            query,
            lists,
            depth,
        } = self.fusion_input(query, trace).await?;
        if self.experts.is_empty() {
            return Ok(Retrieved {
                query,
                hits: Vec::new(),
            });
        }
        let hits = rank(
            lists,
            &self.fusion,
            depth,
            self.reranker.as_ref(),
            &query,
            trace,
        )
        .await?;
        Ok(Retrieved { query, hits })
    }

    /// Stages 2 to 4: transforms, routing, the chosen experts and the union they score.
    pub(crate) async fn fusion_input(
        &self,
        query: Query,
        trace: &mut Trace,
    ) -> Result<FusionInput> {
        let query = transformed(&self.transforms, query, trace).await?;
        if self.experts.is_empty() {
            return Ok(FusionInput {
                depth: query.top_k,
                query,
                lists: Vec::new(),
            });
        }
        let chosen = route(
            self.router.as_ref(),
            &self.experts,
            &self.expert_names,
            &query,
            trace,
        )
        .await?;
        // Experts go deeper than `top_k` when a reranker or fusion wants more candidates.
        let depth = self.candidates.unwrap_or(query.top_k).max(query.top_k);
        let deep = (depth != query.top_k).then(|| query.clone().top_k(depth));
        let expert_query = deep.as_ref().unwrap_or(&query);
        let mut lists = run_experts(
            &chosen,
            expert_query,
            &self.fusion,
            self.expert_failure,
            trace,
        )
        .await?;
        if self.fusion.score_union {
            score_union(
                &mut lists,
                &chosen,
                expert_query,
                self.expert_failure,
                trace,
            )
            .await?;
        }
        Ok(FusionInput {
            query,
            lists,
            depth,
        })
    }
}
