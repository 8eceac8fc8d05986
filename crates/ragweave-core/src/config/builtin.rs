//! Config kinds of ragweave-core's own components. Each kind's options are the component's
//! own option type, flattened in beside what names other components or files.

use std::path::PathBuf;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;

use super::category::Registry;
use super::context::BuildContext;
use super::registry::ComponentConfig;
use crate::algorithms::pilot_router::{PilotRouter, PilotRouterOptions, Pilots};
use crate::algorithms::reorder::{LongContextReorder, RankOrder};
use crate::algorithms::think::{ThinkOptions, ThinkThenRetrieve};
use crate::algorithms::window_memory::{WindowLimits, WindowMemory};
use crate::builtin::bm25::{Bm25Index, Bm25Params};
use crate::builtin::corpus::read_jsonl_corpus;
use crate::builtin::embed_query::EmbedQuery;
use crate::builtin::hashing_embedder::HashingEmbedder;
use crate::builtin::memory_store::{DenseRetriever, InMemoryStore};
use crate::error::{Error, Result};
use crate::traits::chunk_store::{ChunkStore, StoreSearch};
use crate::traits::context_arranger::ContextArranger;
use crate::traits::embedder::Embedder;
use crate::traits::memory::Memory;
use crate::traits::query_transform::QueryTransform;
use crate::traits::retriever::Retriever;
use crate::traits::router::Router;

pub(super) fn register(r: &mut Registry) {
    r.register::<HashingEmbedderConfig>()
        .register::<InMemoryStoreConfig>()
        .register::<StoreRetrieverConfig>()
        .register::<InMemoryRetrieverConfig>()
        .register::<Bm25Config>()
        .register::<PilotRouterConfig>()
        .register::<ThinkConfig>()
        .register::<EmbedQueryConfig>()
        .register::<RankOrder>()
        .register::<LongContextReorder>()
        .register::<WindowMemoryConfig>();
}

/// A field that must be at least 1, named at its config path.
fn at_least_one(ctx: &BuildContext, field: &str, value: usize) -> Result<()> {
    if value == 0 {
        return Err(Error::config(
            format!("{}.{field}", ctx.path()),
            "must be at least 1",
        ));
    }
    Ok(())
}

/// `kind = "hashing"`: the model-free [`HashingEmbedder`].
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct HashingEmbedderConfig {
    /// Vector length.
    pub dimension: usize,
}

impl Default for HashingEmbedderConfig {
    fn default() -> Self {
        Self { dimension: 256 }
    }
}

impl ComponentConfig for HashingEmbedderConfig {
    type Component = dyn Embedder;
    const KIND: &'static str = "hashing";

    async fn build(self, ctx: &BuildContext) -> Result<Arc<dyn Embedder>> {
        at_least_one(ctx, "dimension", self.dimension)?;
        Ok(Arc::new(HashingEmbedder::new(self.dimension)))
    }
}

/// `kind = "in_memory"` store: an [`InMemoryStore`], empty at start (a server fills it over
/// `/v1/ingest`) and gone at exit.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct InMemoryStoreConfig {
    /// The embedder (a name under `[embedders]`) of the dense vectors; unset holds text for
    /// BM25 alone.
    pub embedder: Option<String>,
}

impl ComponentConfig for InMemoryStoreConfig {
    type Component = dyn ChunkStore;
    const KIND: &'static str = "in_memory";

    async fn build(self, ctx: &BuildContext) -> Result<Arc<dyn ChunkStore>> {
        Ok(Arc::new(match &self.embedder {
            Some(name) => InMemoryStore::for_embedder(ctx.component("embedder", name)?),
            None => InMemoryStore::text_only(),
        }))
    }
}

/// `kind = "store"`: searches a store under `[stores]`, whatever its kind, so a pipeline
/// moves from the embedded store to a cluster by changing the store alone.
///
/// ```toml
/// [stores.docs]
/// kind = "qdrant_edge"
/// path = "store"
/// embedder = "minilm"
///
/// [experts.docs]
/// kind = "store"
/// store = "docs"       # hybrid, since the store has an embedder
/// ```
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreRetrieverConfig {
    /// The store, a name under `[stores]`.
    pub store: String,
    /// How it is searched.
    #[serde(flatten, deserialize_with = "crate::config::flat")]
    pub search: StoreSearch,
}

impl ComponentConfig for StoreRetrieverConfig {
    type Component = dyn Retriever;
    const KIND: &'static str = "store";

    async fn build(self, ctx: &BuildContext) -> Result<Arc<dyn Retriever>> {
        at_least_one(ctx, "candidates", self.search.candidates)?;
        let store = ctx.component::<dyn ChunkStore>("store", &self.store)?;
        store.retriever(&self.search).map_err(|e| ctx.locate(e))
    }
}

/// `kind = "in_memory"` expert: loads a JSONL corpus at build time, embeds it and searches
/// it exactly. Lines are BEIR corpus lines (`_id`, `title`, `text`) or `id` + `text`.
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
        let embedder = ctx.component::<dyn Embedder>("embedder", &self.embedder)?;
        let chunks = read_jsonl_corpus(&ctx.resolve(&self.corpus), self.limit)?;
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
    /// The BM25 parameters.
    #[serde(flatten, deserialize_with = "crate::config::flat")]
    pub params: Bm25Params,
}

impl ComponentConfig for Bm25Config {
    type Component = dyn Retriever;
    const KIND: &'static str = "bm25";

    async fn build(self, ctx: &BuildContext) -> Result<Arc<dyn Retriever>> {
        let Bm25Params { k1, b } = self.params;
        if !(k1.is_finite() && k1 >= 0.0) {
            return Err(Error::config(
                format!("{}.k1", ctx.path()),
                "must be a finite number >= 0",
            ));
        }
        if !(0.0..=1.0).contains(&b) {
            return Err(Error::config(
                format!("{}.b", ctx.path()),
                "must be between 0 and 1",
            ));
        }
        let index = Bm25Index::new(self.params);
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
    /// How it chooses.
    #[serde(flatten, deserialize_with = "crate::config::flat")]
    pub options: PilotRouterOptions,
}

impl ComponentConfig for PilotRouterConfig {
    type Component = dyn Router;
    const KIND: &'static str = "pilot";

    async fn build(self, ctx: &BuildContext) -> Result<Arc<dyn Router>> {
        at_least_one(ctx, "top_k", self.options.top_k)?;
        let embedder = ctx.component::<dyn Embedder>("embedder", &self.embedder)?;
        let pilots = Pilots::load(ctx.resolve(&self.pilots))?;
        let router = PilotRouter::with_options(embedder, self.options);
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
        let embedder = ctx.component::<dyn Embedder>("embedder", &self.embedder)?;
        Ok(Arc::new(EmbedQuery::new(embedder)))
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
    /// How it thinks.
    #[serde(flatten, deserialize_with = "crate::config::flat")]
    pub options: ThinkOptions,
}

impl ComponentConfig for ThinkConfig {
    type Component = dyn QueryTransform;
    const KIND: &'static str = "think";

    async fn build(self, ctx: &BuildContext) -> Result<Arc<dyn QueryTransform>> {
        let generator = ctx.component("generator", &self.generator)?;
        self.options.validate().map_err(|e| match e {
            Error::InvalidInput { field, reason } => {
                let field = field.trim_start_matches("sampling.");
                Error::config(format!("{}.{field}", ctx.path()), reason)
            }
            other => other,
        })?;
        let mut t = ThinkThenRetrieve::with_options(generator, self.options);
        if let Some(name) = &self.embedder {
            t = t.embedder(ctx.component("embedder", name)?);
        }
        Ok(Arc::new(t))
    }
}

impl ComponentConfig for RankOrder {
    type Component = dyn ContextArranger;
    const KIND: &'static str = "rank_order";

    async fn build(self, _ctx: &BuildContext) -> Result<Arc<dyn ContextArranger>> {
        Ok(Arc::new(self))
    }
}

impl ComponentConfig for LongContextReorder {
    type Component = dyn ContextArranger;
    const KIND: &'static str = "long_context_reorder";

    async fn build(self, _ctx: &BuildContext) -> Result<Arc<dyn ContextArranger>> {
        Ok(Arc::new(self))
    }
}

/// `kind = "window"`: [`WindowMemory`].
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowMemoryConfig {
    /// Tokens of history recalled per query.
    pub max_tokens: usize,
    /// How much is kept.
    #[serde(flatten, deserialize_with = "crate::config::flat")]
    pub limits: WindowLimits,
}

impl ComponentConfig for WindowMemoryConfig {
    type Component = dyn Memory;
    const KIND: &'static str = "window";

    async fn build(self, _ctx: &BuildContext) -> Result<Arc<dyn Memory>> {
        Ok(Arc::new(WindowMemory::with_limits(
            self.max_tokens,
            self.limits,
        )))
    }
}
