//! Config types of ragweave-core's own components.

use std::path::PathBuf;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;

use super::registry::{BuildContext, ComponentConfig, Registry};
use crate::algorithms::pilot_router::{PilotRouter, PilotScoring, Pilots};
use crate::algorithms::reorder::{ContextBudget, LongContextReorder, RankOrder};
use crate::algorithms::think::{DEFAULT_THINK_PROMPT, ThinkMode, ThinkThenRetrieve};
use crate::algorithms::window_memory::WindowMemory;
use crate::builtin::bm25::{Bm25Index, Bm25Params};
use crate::builtin::corpus::read_jsonl_corpus;
use crate::builtin::embed_query::EmbedQuery;
use crate::builtin::hashing_embedder::HashingEmbedder;
use crate::builtin::memory_store::{DenseRetriever, InMemoryStore};
use crate::error::{Error, Result};
use crate::traits::arranger::ContextArranger;
use crate::traits::embedder::Embedder;
use crate::traits::generator::SamplingParams;
use crate::traits::memory::Memory;
use crate::traits::query_transform::QueryTransform;
use crate::traits::retriever::Retriever;
use crate::traits::router::Router;

pub(super) fn register(r: &mut Registry) {
    r.register::<HashingEmbedderConfig>()
        .register::<InMemoryRetrieverConfig>()
        .register::<Bm25Config>()
        .register::<PilotRouterConfig>()
        .register::<ThinkConfig>()
        .register::<EmbedQueryConfig>()
        .register::<ArrangerConfig>()
        .register::<LongContextReorderConfig>()
        .register::<WindowMemoryConfig>();
}

/// `kind = "hashing"`: the model-free [`HashingEmbedder`].
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HashingEmbedderConfig {
    /// Vector length.
    #[serde(default = "default_dimension")]
    pub dimension: usize,
}

fn default_dimension() -> usize {
    256
}

impl ComponentConfig for HashingEmbedderConfig {
    type Component = dyn Embedder;
    const KIND: &'static str = "hashing";

    async fn build(self, ctx: &BuildContext) -> Result<Arc<dyn Embedder>> {
        if self.dimension == 0 {
            return Err(Error::config(
                format!("{}.dimension", ctx.path()),
                "must be at least 1",
            ));
        }
        Ok(Arc::new(HashingEmbedder::new(self.dimension)))
    }
}

/// `kind = "in_memory"`: loads a JSONL corpus at build time, embeds it and searches it
/// exactly. Lines are BEIR corpus lines (`_id`, `title`, `text`) or `id` + `text`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InMemoryRetrieverConfig {
    /// Name of the embedder under `[embedders]`.
    pub embedder: String,
    /// The JSONL corpus, relative to the config file.
    pub corpus: PathBuf,
    /// Load only the first `limit` documents.
    #[serde(default)]
    pub limit: Option<usize>,
}

impl ComponentConfig for InMemoryRetrieverConfig {
    type Component = dyn Retriever;
    const KIND: &'static str = "in_memory";

    async fn build(self, ctx: &BuildContext) -> Result<Arc<dyn Retriever>> {
        let embedder = ctx.embedder("embedder", &self.embedder)?;
        let path = ctx.resolve(&self.corpus);
        let chunks = read_jsonl_corpus(&path, self.limit)?;
        let store = Arc::new(InMemoryStore::new(embedder.dimension()));
        let retriever = DenseRetriever::new(embedder, store)?;
        retriever.index(chunks).await?;
        Ok(Arc::new(retriever))
    }
}

/// `kind = "bm25"`: loads a JSONL corpus at build time into an in-memory [`Bm25Index`].
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Bm25Config {
    /// The JSONL corpus, relative to the config file.
    pub corpus: PathBuf,
    /// Load only the first `limit` documents.
    #[serde(default)]
    pub limit: Option<usize>,
    /// Term-frequency saturation.
    #[serde(default = "default_k1")]
    pub k1: f32,
    /// Length normalisation.
    #[serde(default = "default_b")]
    pub b: f32,
}

fn default_k1() -> f32 {
    Bm25Params::default().k1
}
fn default_b() -> f32 {
    Bm25Params::default().b
}

impl ComponentConfig for Bm25Config {
    type Component = dyn Retriever;
    const KIND: &'static str = "bm25";

    async fn build(self, ctx: &BuildContext) -> Result<Arc<dyn Retriever>> {
        if !(self.k1.is_finite() && self.k1 >= 0.0) {
            return Err(Error::config(
                format!("{}.k1", ctx.path()),
                "must be a finite number >= 0",
            ));
        }
        if !(0.0..=1.0).contains(&self.b) {
            return Err(Error::config(
                format!("{}.b", ctx.path()),
                "must be between 0 and 1",
            ));
        }
        let index = Bm25Index::new(Bm25Params {
            k1: self.k1,
            b: self.b,
        });
        index.insert(read_jsonl_corpus(&ctx.resolve(&self.corpus), self.limit)?)?;
        Ok(Arc::new(index))
    }
}

/// `kind = "pilot"`: [`PilotRouter`] with pilots from a JSON file.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PilotRouterConfig {
    /// Name of the embedder under `[embedders]`; must be the one the pilots were made with.
    pub embedder: String,
    /// Pilots JSON (as written by `Pilots::save`), relative to the config file.
    pub pilots: PathBuf,
    /// `mean` (paper) or `max` (authors' code).
    #[serde(default)]
    pub scoring: PilotScoring,
    /// How many experts each query goes to.
    #[serde(default = "one")]
    pub top_k: usize,
    /// Softmax temperature for top-k weights; unset weighs by score.
    #[serde(default)]
    pub temperature: Option<f32>,
}

fn one() -> usize {
    1
}

impl ComponentConfig for PilotRouterConfig {
    type Component = dyn Router;
    const KIND: &'static str = "pilot";

    async fn build(self, ctx: &BuildContext) -> Result<Arc<dyn Router>> {
        let embedder = ctx.embedder("embedder", &self.embedder)?;
        let pilots = Pilots::load(ctx.resolve(&self.pilots))?;
        let router = PilotRouter::new(embedder)
            .scoring(self.scoring)
            .top_k(self.top_k)
            .temperature(self.temperature);
        router.load_pilots(pilots)?;
        Ok(Arc::new(router))
    }
}

/// `kind = "embed"`: [`EmbedQuery`], the query embedded once for the router and every dense
/// expert on this embedder.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmbedQueryConfig {
    /// Name of the embedder under `[embedders]`.
    pub embedder: String,
}

impl ComponentConfig for EmbedQueryConfig {
    type Component = dyn QueryTransform;
    const KIND: &'static str = "embed";

    async fn build(self, ctx: &BuildContext) -> Result<Arc<dyn QueryTransform>> {
        Ok(Arc::new(EmbedQuery::new(
            ctx.embedder("embedder", &self.embedder)?,
        )))
    }
}

/// `kind = "think"`: [`ThinkThenRetrieve`].
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThinkConfig {
    /// Name of the generator under `[generators]` that writes the thoughts.
    pub generator: String,
    /// Name of the embedder for the thought vector; unset expands sparse queries only.
    #[serde(default)]
    pub embedder: Option<String>,
    /// `o1` or `hyde`.
    #[serde(default)]
    pub mode: ThinkModeName,
    /// HyDE only: average the query's own vector in.
    #[serde(default)]
    pub include_query: bool,
    /// Thoughts per query.
    #[serde(default = "three")]
    pub thoughts: usize,
    /// Most tokens per thought.
    #[serde(default = "default_thought_tokens")]
    pub max_tokens: usize,
    /// Sampling temperature.
    #[serde(default = "default_thought_temperature")]
    pub temperature: f32,
    /// Seed; thought i uses seed + i.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Prompt with `{query}`.
    #[serde(default = "default_think_prompt")]
    pub prompt: String,
    /// Whether thoughts expand the query for sparse retrievers.
    #[serde(default = "yes")]
    pub expand_sparse: bool,
    /// Queries whose thoughts are cached.
    #[serde(default = "default_cache")]
    pub cache: usize,
}

/// Name of a [`ThinkMode`] in config.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ThinkModeName {
    /// O1 Embedder.
    #[default]
    O1,
    /// HyDE.
    Hyde,
}

fn three() -> usize {
    3
}
fn default_thought_tokens() -> usize {
    128
}
fn default_thought_temperature() -> f32 {
    0.7
}
fn default_think_prompt() -> String {
    DEFAULT_THINK_PROMPT.to_string()
}
fn yes() -> bool {
    true
}
fn default_cache() -> usize {
    1024
}

impl ComponentConfig for ThinkConfig {
    type Component = dyn QueryTransform;
    const KIND: &'static str = "think";

    async fn build(self, ctx: &BuildContext) -> Result<Arc<dyn QueryTransform>> {
        let generator = ctx.generator("generator", &self.generator)?;
        let params = SamplingParams {
            max_tokens: self.max_tokens,
            temperature: self.temperature,
            seed: self.seed,
            ..SamplingParams::default()
        };
        params
            .validate()
            .map_err(|e| Error::config(ctx.path(), e.to_string()))?;
        if self.thoughts == 0 {
            return Err(Error::config(
                format!("{}.thoughts", ctx.path()),
                "must be at least 1",
            ));
        }
        let mode = match self.mode {
            ThinkModeName::O1 => ThinkMode::O1,
            ThinkModeName::Hyde => ThinkMode::Hyde {
                include_query: self.include_query,
            },
        };
        let mut t = ThinkThenRetrieve::new(generator)
            .mode(mode)
            .thoughts(self.thoughts)
            .sampling(params)
            .prompt(self.prompt)
            .expand_sparse(self.expand_sparse)
            .cache_capacity(self.cache);
        if let Some(name) = &self.embedder {
            t = t.embedder(ctx.embedder("embedder", name)?);
        }
        Ok(Arc::new(t))
    }
}

/// `kind = "rank_order"`: passages best first, trimmed to a budget.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArrangerConfig {
    /// Most tokens of passage text (estimated: 4 bytes a token).
    #[serde(default)]
    pub max_tokens: Option<usize>,
    /// Most passages.
    #[serde(default)]
    pub max_passages: Option<usize>,
}

impl ArrangerConfig {
    fn budget(&self) -> ContextBudget {
        ContextBudget {
            max_tokens: self.max_tokens,
            max_passages: self.max_passages,
            ..ContextBudget::default()
        }
    }
}

impl ComponentConfig for ArrangerConfig {
    type Component = dyn ContextArranger;
    const KIND: &'static str = "rank_order";

    async fn build(self, _ctx: &BuildContext) -> Result<Arc<dyn ContextArranger>> {
        Ok(Arc::new(RankOrder {
            budget: self.budget(),
        }))
    }
}

/// `kind = "long_context_reorder"`: best passages at both ends of the prompt, trimmed to a
/// budget first.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LongContextReorderConfig {
    /// Most tokens of passage text (estimated: 4 bytes a token).
    #[serde(default)]
    pub max_tokens: Option<usize>,
    /// Most passages.
    #[serde(default)]
    pub max_passages: Option<usize>,
}

impl ComponentConfig for LongContextReorderConfig {
    type Component = dyn ContextArranger;
    const KIND: &'static str = "long_context_reorder";

    async fn build(self, _ctx: &BuildContext) -> Result<Arc<dyn ContextArranger>> {
        let same = ArrangerConfig {
            max_tokens: self.max_tokens,
            max_passages: self.max_passages,
        };
        Ok(Arc::new(LongContextReorder {
            budget: same.budget(),
        }))
    }
}

/// `kind = "window"`: [`WindowMemory`].
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowMemoryConfig {
    /// Tokens of history recalled per query.
    pub max_tokens: usize,
    /// Messages kept per conversation.
    #[serde(default = "default_messages")]
    pub max_messages: usize,
    /// Conversations kept (least recently used dropped first).
    #[serde(default = "default_conversations")]
    pub max_conversations: usize,
}

fn default_messages() -> usize {
    64
}
fn default_conversations() -> usize {
    10_000
}

impl ComponentConfig for WindowMemoryConfig {
    type Component = dyn Memory;
    const KIND: &'static str = "window";

    async fn build(self, _ctx: &BuildContext) -> Result<Arc<dyn Memory>> {
        Ok(Arc::new(
            WindowMemory::new(self.max_tokens)
                .max_messages(self.max_messages)
                .max_conversations(self.max_conversations),
        ))
    }
}
