//! Assembling a pipeline.

use std::sync::Arc;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::answering::{Answering, Output};
use super::experts::Expert;
use super::prompt::PromptTemplate;
use super::retrieval::Retrieval;
use super::timeout::Timeout;
use super::transform::Transform;
use super::{Inner, Pipeline};
use crate::algorithms::fusion::Fusion;
use crate::algorithms::reorder::RankOrder;
use crate::error::{Error, Result};
use crate::traits::context_arranger::ContextArranger;
use crate::traits::generator::{Generator, SamplingParams};
use crate::traits::memory::Memory;
use crate::traits::query_transform::QueryTransform;
use crate::traits::reranker::Reranker;
use crate::traits::retriever::Retriever;
use crate::traits::router::Router;

/// Time limits per stage; `None` is no limit. A stage that runs over fails with
/// [`Error::Timeout`] naming it. The builder wraps each component in a `Timeout` layer with
/// its stage's limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct StageTimeouts {
    /// Each query transform.
    #[serde(with = "crate::config::duration::opt_millis")]
    #[schemars(with = "Option<u64>")]
    pub transform: Option<Duration>,
    /// The router.
    #[serde(with = "crate::config::duration::opt_millis")]
    #[schemars(with = "Option<u64>")]
    pub route: Option<Duration>,
    /// Each expert retriever (a late expert is skipped like a failed one).
    #[serde(with = "crate::config::duration::opt_millis")]
    #[schemars(with = "Option<u64>")]
    pub retrieve: Option<Duration>,
    /// The reranker.
    #[serde(with = "crate::config::duration::opt_millis")]
    #[schemars(with = "Option<u64>")]
    pub rerank: Option<Duration>,
    /// The whole generation, first token to last.
    #[serde(with = "crate::config::duration::opt_millis")]
    #[schemars(with = "Option<u64>")]
    pub generate: Option<Duration>,
    /// Memory load and save.
    #[serde(with = "crate::config::duration::opt_millis")]
    #[schemars(with = "Option<u64>")]
    pub memory: Option<Duration>,
}

/// What a failing expert does to the query.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExpertFailure {
    /// Answer from the experts that succeeded; the failure is noted in the trace. Only when
    /// every chosen expert fails is the query an error.
    #[default]
    Skip,
    /// Any failing expert fails the query.
    Fail,
}

/// Builds a [`Pipeline`]; see [`Pipeline::builder`].
#[derive(Default)]
pub struct PipelineBuilder {
    memory: Option<Arc<dyn Memory>>,
    transforms: Vec<Arc<dyn QueryTransform>>,
    experts: Vec<(String, Arc<dyn Retriever>)>,
    router: Option<Arc<dyn Router>>,
    fusion: Fusion,
    candidates: Option<usize>,
    reranker: Option<Arc<dyn Reranker>>,
    arranger: Option<Arc<dyn ContextArranger>>,
    prompt: PromptTemplate,
    generator: Option<Arc<dyn Generator>>,
    sampling: SamplingParams,
    timeouts: StageTimeouts,
    expert_failure: ExpertFailure,
}

impl PipelineBuilder {
    /// Conversation memory, loaded before and saved after each ask with a conversation id.
    pub fn memory(mut self, memory: Arc<dyn Memory>) -> Self {
        self.memory = Some(memory);
        self
    }

    /// Adds a query transform; transforms run in the order added.
    pub fn transform(mut self, transform: Arc<dyn QueryTransform>) -> Self {
        self.transforms.push(transform);
        self
    }

    /// Adds a named expert retriever.
    pub fn expert(mut self, name: impl Into<String>, retriever: Arc<dyn Retriever>) -> Self {
        self.experts.push((name.into(), retriever));
        self
    }

    /// Routes each query to some experts; without a router every expert runs.
    pub fn router(mut self, router: Arc<dyn Router>) -> Self {
        self.router = Some(router);
        self
    }

    /// Fusion of the chosen experts' results (RRF, k = 60 by default).
    pub fn fusion(mut self, fusion: impl Into<Fusion>) -> Self {
        self.fusion = fusion.into();
        self
    }

    /// Hits each expert returns and the reranker sees; defaults to the query's `top_k`.
    pub fn candidates(mut self, n: usize) -> Self {
        self.candidates = Some(n);
        self
    }

    /// Rescores fused hits.
    pub fn reranker(mut self, reranker: Arc<dyn Reranker>) -> Self {
        self.reranker = Some(reranker);
        self
    }

    /// Orders and trims hits for the prompt; [`RankOrder`] without a budget by default.
    pub fn arranger(mut self, arranger: Arc<dyn ContextArranger>) -> Self {
        self.arranger = Some(arranger);
        self
    }

    /// The prompt template.
    pub fn prompt(mut self, prompt: PromptTemplate) -> Self {
        self.prompt = prompt;
        self
    }

    /// The generator; without one the pipeline only retrieves.
    pub fn generator(mut self, generator: Arc<dyn Generator>) -> Self {
        self.generator = Some(generator);
        self
    }

    /// Sampling for the answer.
    pub fn sampling(mut self, params: SamplingParams) -> Self {
        self.sampling = params;
        self
    }

    /// Per-stage time limits.
    pub fn timeouts(mut self, timeouts: StageTimeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// What a failing expert does.
    pub fn expert_failure(mut self, policy: ExpertFailure) -> Self {
        self.expert_failure = policy;
        self
    }

    /// Checks the composition and builds the pipeline.
    pub fn build(self) -> Result<Pipeline> {
        if self.experts.is_empty() && self.generator.is_none() {
            return Err(Error::config(
                "experts",
                "a pipeline needs at least one expert retriever or a generator",
            ));
        }
        if self.router.is_some() && self.experts.is_empty() {
            return Err(Error::config(
                "router",
                "a router needs experts to route among; add one",
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for (name, _) in &self.experts {
            if name.is_empty() {
                return Err(Error::config("experts", "an expert's name is empty"));
            }
            if !seen.insert(name.as_str()) {
                return Err(Error::config(
                    format!("experts.{name}"),
                    "two experts have this name",
                ));
            }
        }
        if self.candidates == Some(0) {
            return Err(Error::config("candidates", "must be at least 1"));
        }
        self.prompt.validate()?;
        self.sampling.validate()?;
        let expert_names: Vec<String> = self.experts.iter().map(|(n, _)| n.clone()).collect();
        self.fusion.validate(&expert_names)?;
        let t = self.timeouts;
        let experts = self
            .experts
            .into_iter()
            .map(|(name, retriever)| {
                let stage = format!("retrieve:{name}");
                Expert {
                    retriever: Timeout::wrap(retriever, t.retrieve, stage.clone()),
                    stage,
                    component: format!("expert {name}"),
                    name,
                }
            })
            .collect();
        let transforms = self
            .transforms
            .into_iter()
            .map(|transform| {
                let stage = format!("transform:{}", transform.name());
                Transform {
                    transform: Timeout::wrap(transform, t.transform, stage.clone()),
                    stage,
                }
            })
            .collect();
        let output = match self.generator {
            None => Output::Hits,
            Some(generator) => Output::Answer(Box::new(Answering {
                generator: Timeout::wrap(generator, t.generate, "generate"),
                memory: self.memory.map(|m| Timeout::wrap(m, t.memory, "memory")),
                arranger: self
                    .arranger
                    .unwrap_or_else(|| Arc::new(RankOrder::default())),
                prompt: self.prompt,
            })),
        };
        Ok(Pipeline {
            inner: Arc::new(Inner {
                retrieval: Retrieval {
                    transforms,
                    router: self.router.map(|r| Timeout::wrap(r, t.route, "route")),
                    experts,
                    expert_names,
                    expert_failure: self.expert_failure,
                    fusion: self.fusion,
                    candidates: self.candidates,
                    reranker: self.reranker.map(|r| Timeout::wrap(r, t.rerank, "rerank")),
                },
                output,
                sampling: self.sampling,
            }),
        })
    }
}
