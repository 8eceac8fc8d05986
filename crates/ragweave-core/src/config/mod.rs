//! Building a pipeline from TOML or JSON.
//!
//! A config names its components by `kind`; a [`Registry`] maps each kind to the factory
//! that builds it, and plugins register theirs. Each config field is typed by its category
//! ([`Spec<dyn Embedder>`](Spec), ...), and the one walk over those fields
//! ([`PipelineConfig::validate`], [`PipelineConfig::build`]) and the schema derived from them
//! ([`Registry::schema`]) cannot disagree. Errors name the field path:
//!
//! ```
//! use ragweave_core::config::{PipelineConfig, Registry};
//!
//! let err = PipelineConfig::from_toml_str("[experts.dense]\nkind = 'in_memory'\nembedder = 7\n")
//!     .and_then(|c| c.validate(&Registry::with_builtins()))
//!     .unwrap_err();
//! assert!(err.to_string().contains("experts.dense.embedder"), "{err}");
//! ```

mod builtin;
mod category;
mod context;
pub mod duration;
mod flat;
mod reference;
mod registry;
mod spec;

use std::path::Path;

use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use builtin::{
    Bm25Config, EmbedQueryConfig, HashingEmbedderConfig, InMemoryRetrieverConfig,
    InMemoryStoreConfig, PilotRouterConfig, StoreRetrieverConfig, ThinkConfig, WindowMemoryConfig,
};
pub use category::{Category, Components, Registry};
pub use context::BuildContext;
pub use flat::flat;
pub use registry::{ComponentConfig, Factory};
pub use spec::{Named, Spec};

use crate::algorithms::fusion::Fusion;
use crate::error::{Error, Result, read_file};
use crate::pipeline::{ExpertFailure, Pipeline, PromptTemplate, StageTimeouts};
use crate::traits::chunk_store::ChunkStore;
use crate::traits::context_arranger::ContextArranger;
use crate::traits::embedder::Embedder;
use crate::traits::generator::{Generator, SamplingParams};
use crate::traits::memory::Memory;
use crate::traits::query_transform::QueryTransform;
use crate::traits::reranker::Reranker;
use crate::traits::retriever::Retriever;
use crate::traits::router::Router;

impl Registry {
    /// A registry with ragweave-core's own components.
    pub fn with_builtins() -> Self {
        let mut r = Registry::default();
        builtin::register(&mut r);
        r
    }
}

/// A whole pipeline, as written in TOML or JSON. `ragweave schema` prints its JSON Schema.
///
/// Components are built in the order of the fields: embedders and generators first, then the
/// stores (which name embedders), the experts (which name stores, embedders and
/// generators), and the rest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PipelineConfig {
    /// Embedders by name, shared by the components that name them.
    pub embedders: Named<dyn Embedder>,
    /// Generators by name.
    pub generators: Named<dyn Generator>,
    /// Stores by name: where ingestion writes and what `store` experts search.
    pub stores: Named<dyn ChunkStore>,
    /// Expert retrievers by name.
    pub experts: Named<dyn Retriever>,
    /// Query transforms, in order.
    pub transforms: Vec<Spec<dyn QueryTransform>>,
    /// Chooses experts per query; without one, every expert runs and results are fused.
    pub router: Option<Spec<dyn Router>>,
    /// Rescores fused hits.
    pub reranker: Option<Spec<dyn Reranker>>,
    /// Orders and trims hits for the prompt.
    pub arranger: Option<Spec<dyn ContextArranger>>,
    /// Conversation memory.
    pub memory: Option<Spec<dyn Memory>>,
    /// Name of the generator (from `generators`) that writes the answer; none retrieves only.
    pub generator: Option<String>,
    /// How the chosen experts' results merge: RRF (default) or calibrated scores, and
    /// per-expert weights.
    pub fusion: Fusion,
    /// Hits each expert returns and the reranker sees; defaults to the query's `top_k`.
    pub candidates: Option<usize>,
    /// The prompt template.
    pub prompt: PromptTemplate,
    /// Sampling for the answer.
    pub sampling: SamplingParams,
    /// Per-stage time limits in milliseconds.
    pub timeouts: StageTimeouts,
    /// What a failing expert does.
    pub expert_failure: ExpertFailure,
}

/// Sees each component of a config, with its path and name, in build order.
trait Visit<'a> {
    fn visit<C: ?Sized + Category>(&mut self, path: String, name: String, spec: &'a Spec<C>);
}

impl PipelineConfig {
    /// Parses a TOML config.
    pub fn from_toml_str(text: &str) -> Result<Self> {
        let value: serde_json::Value =
            toml::from_str(text).map_err(|e| Error::config("(toml syntax)", e.to_string()))?;
        flat::from_value(value, "")
    }

    /// Parses a JSON config.
    pub fn from_json_str(text: &str) -> Result<Self> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| Error::config("(json syntax)", e.to_string()))?;
        flat::from_value(value, "")
    }

    /// Reads a `.toml` or `.json` file (by extension; anything else is read as TOML).
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = read_file(path)?;
        let parsed = if path.extension().is_some_and(|e| e == "json") {
            Self::from_json_str(&text)
        } else {
            Self::from_toml_str(&text)
        };
        parsed.map_err(|e| match e {
            Error::Config {
                path: field,
                message,
            } => Error::config(format!("{}: {field}", path.display()), message),
            other => other,
        })
    }

    /// The one list of this config's components, in build order.
    fn walk<'a>(&'a self, v: &mut impl Visit<'a>) {
        fn named<'a, C: ?Sized + Category>(
            v: &mut impl Visit<'a>,
            field: &str,
            specs: &'a Named<C>,
        ) {
            for (name, spec) in specs {
                v.visit(format!("{field}.{name}"), name.clone(), spec);
            }
        }
        fn single<'a, C: ?Sized + Category>(
            v: &mut impl Visit<'a>,
            field: &str,
            spec: &'a Option<Spec<C>>,
        ) {
            if let Some(spec) = spec {
                v.visit(field.to_string(), field.to_string(), spec);
            }
        }
        named(v, "embedders", &self.embedders);
        named(v, "generators", &self.generators);
        named(v, "stores", &self.stores);
        named(v, "experts", &self.experts);
        for (i, spec) in self.transforms.iter().enumerate() {
            let path = format!("transforms[{i}]");
            v.visit(path.clone(), path, spec);
        }
        single(v, "router", &self.router);
        single(v, "reranker", &self.reranker);
        single(v, "arranger", &self.arranger);
        single(v, "memory", &self.memory);
    }

    /// Checks kinds and every component's fields without building anything (no model is
    /// loaded, no store opened).
    pub fn validate(&self, registry: &Registry) -> Result<()> {
        struct Check<'r> {
            registry: &'r Registry,
            first_error: Option<Error>,
        }
        impl<'a> Visit<'a> for Check<'_> {
            fn visit<C: ?Sized + Category>(&mut self, path: String, _: String, spec: &Spec<C>) {
                if self.first_error.is_none() {
                    self.first_error = self.registry.check(spec, &path).err();
                }
            }
        }
        let mut check = Check {
            registry,
            first_error: None,
        };
        self.walk(&mut check);
        check.first_error.map_or(Ok(()), Err)
    }

    /// Builds every component and the pipeline; relative paths resolve against `base_dir`,
    /// and stores must exist.
    pub async fn build(&self, registry: &Registry, base_dir: impl AsRef<Path>) -> Result<Pipeline> {
        let ctx = BuildContext::new(base_dir.as_ref());
        Ok(self.build_in(registry, ctx).await?.pipeline)
    }

    /// Builds the pipeline and hands back every named component beside it, so a server or
    /// an ingestion can use the config's embedders, generators, reranker and stores without
    /// loading anything twice. `ctx` says where paths start and whether stores may be
    /// created.
    pub async fn build_in(&self, registry: &Registry, ctx: BuildContext) -> Result<BuiltPipeline> {
        let components = self.build_components(registry, ctx).await?;
        let mut builder = Pipeline::builder()
            .fusion(self.fusion.clone())
            .prompt(self.prompt.clone())
            .sampling(self.sampling.clone())
            .timeouts(self.timeouts)
            .expert_failure(self.expert_failure);
        for (name, expert) in components.all::<dyn Retriever>() {
            builder = builder.expert(name, expert.clone());
        }
        for (_, transform) in components.all::<dyn QueryTransform>() {
            builder = builder.transform(transform.clone());
        }
        if let Some(router) = components.get::<dyn Router>("router") {
            builder = builder.router(router.clone());
        }
        if let Some(reranker) = components.get::<dyn Reranker>("reranker") {
            builder = builder.reranker(reranker.clone());
        }
        if let Some(arranger) = components.get::<dyn ContextArranger>("arranger") {
            builder = builder.arranger(arranger.clone());
        }
        if let Some(memory) = components.get::<dyn Memory>("memory") {
            builder = builder.memory(memory.clone());
        }
        if let Some(name) = &self.generator {
            let generator = components.get::<dyn Generator>(name).ok_or_else(|| {
                Error::config(
                    "generator",
                    format!("no generator named `{name}` under [generators]"),
                )
            })?;
            builder = builder.generator(generator.clone());
        }
        if let Some(n) = self.candidates {
            builder = builder.candidates(n);
        }
        Ok(BuiltPipeline {
            pipeline: builder.build()?,
            components,
        })
    }
}

impl PipelineConfig {
    /// Builds every component, in order, without assembling a pipeline: what a command
    /// that only ingests (embedders and stores) needs.
    pub async fn build_components(
        &self,
        registry: &Registry,
        ctx: BuildContext,
    ) -> Result<Components> {
        let mut steps = Steps(Vec::new());
        self.walk(&mut steps);
        let mut ctx = ctx;
        for step in steps.0 {
            step.run(registry, &mut ctx).await?;
        }
        Ok(ctx.into_components())
    }
}

/// Collects one build step per component, to run in order.
struct Steps<'a>(Vec<Box<dyn Step + 'a>>);

trait Step: Send + Sync {
    fn run<'b>(
        &'b self,
        registry: &'b Registry,
        ctx: &'b mut BuildContext,
    ) -> BoxFuture<'b, Result<()>>;
}

struct Build<'a, C: ?Sized> {
    path: String,
    name: String,
    spec: &'a Spec<C>,
}

impl<C: ?Sized + Category> Step for Build<'_, C> {
    fn run<'b>(
        &'b self,
        registry: &'b Registry,
        ctx: &'b mut BuildContext,
    ) -> BoxFuture<'b, Result<()>> {
        Box::pin(async move {
            let component = registry.build(self.spec, ctx, &self.path).await?;
            ctx.components_mut().add(self.name.clone(), component);
            Ok(())
        })
    }
}

impl<'a> Visit<'a> for Steps<'a> {
    fn visit<C: ?Sized + Category>(&mut self, path: String, name: String, spec: &'a Spec<C>) {
        self.0.push(Box::new(Build { path, name, spec }));
    }
}

/// What [`PipelineConfig::build_in`] built: the pipeline, and every named component.
#[derive(Clone)]
pub struct BuiltPipeline {
    /// The pipeline.
    pub pipeline: Pipeline,
    /// The config's components by category and name: `components.get::<dyn Embedder>("minilm")`,
    /// the reranker under `reranker`, ...
    pub components: Components,
}

impl BuiltPipeline {
    /// `pipeline` with no named components; add them with [`Components::add`].
    pub fn new(pipeline: Pipeline) -> Self {
        Self {
            pipeline,
            components: Components::default(),
        }
    }
}

impl std::fmt::Debug for BuiltPipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.components;
        f.debug_struct("BuiltPipeline")
            .field("experts", &self.pipeline.experts())
            .field("embedders", &c.names::<dyn Embedder>())
            .field("generators", &c.names::<dyn Generator>())
            .field("stores", &c.names::<dyn ChunkStore>())
            .field("rerankers", &c.names::<dyn Reranker>())
            .finish()
    }
}
