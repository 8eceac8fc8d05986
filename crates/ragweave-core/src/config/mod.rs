//! Building a pipeline from TOML or JSON.
//!
//! A config names its components by `kind`; a [`Registry`] maps each kind to the factory
//! that builds it, and plugins register theirs. Errors name the field path:
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
mod reference;
mod registry;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use builtin::{
    ArrangerConfig, Bm25Config, EmbedQueryConfig, HashingEmbedderConfig, InMemoryRetrieverConfig,
    LongContextReorderConfig, PilotRouterConfig, ThinkConfig, ThinkModeName, WindowMemoryConfig,
};
pub use registry::{BuildContext, Category, ComponentConfig, Registry};

use crate::algorithms::fusion::Fusion;
use crate::error::{Error, Result, read_file};
use crate::pipeline::{ExpertFailure, Pipeline, PromptTemplate, StageTimeouts};
use crate::traits::arranger::ContextArranger;
use crate::traits::embedder::Embedder;
use crate::traits::generator::{Generator, SamplingParams};
use crate::traits::memory::Memory;
use crate::traits::query_transform::QueryTransform;
use crate::traits::reranker::Reranker;
use crate::traits::retriever::Retriever;
use crate::traits::router::Router;

/// One component: its `kind` and the kind's own fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ComponentSpec {
    /// Which registered factory builds it.
    pub kind: String,
    /// The remaining fields, checked by the kind's config type.
    #[serde(flatten)]
    pub params: Map<String, Value>,
}

/// A whole pipeline, as written in TOML or JSON. `ragweave schema` prints its JSON Schema.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PipelineConfig {
    /// Embedders by name, shared by the components that name them.
    pub embedders: BTreeMap<String, ComponentSpec>,
    /// Generators by name.
    pub generators: BTreeMap<String, ComponentSpec>,
    /// Expert retrievers by name.
    pub experts: BTreeMap<String, ComponentSpec>,
    /// Chooses experts per query; without one, every expert runs and results are fused.
    pub router: Option<ComponentSpec>,
    /// Query transforms, in order.
    pub transforms: Vec<ComponentSpec>,
    /// Rescores fused hits.
    pub reranker: Option<ComponentSpec>,
    /// Orders and trims hits for the prompt.
    pub arranger: Option<ComponentSpec>,
    /// Conversation memory.
    pub memory: Option<ComponentSpec>,
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

impl PipelineConfig {
    /// Parses a TOML config.
    pub fn from_toml_str(text: &str) -> Result<Self> {
        let value: Value =
            toml::from_str(text).map_err(|e| Error::config("(toml syntax)", e.to_string()))?;
        registry::from_value(value, "")
    }

    /// Parses a JSON config.
    pub fn from_json_str(text: &str) -> Result<Self> {
        let mut de = serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            Error::config(path, e.into_inner().to_string())
        })
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

    /// Checks kinds and every component's fields without building anything (no model is
    /// loaded).
    pub fn validate(&self, registry: &Registry) -> Result<()> {
        self.for_each_spec(|category, path, spec| registry.check(category, spec, path))
    }

    fn for_each_spec(
        &self,
        mut f: impl FnMut(&str, &str, &ComponentSpec) -> Result<()>,
    ) -> Result<()> {
        for (name, spec) in &self.embedders {
            f("embedder", &format!("embedders.{name}"), spec)?;
        }
        for (name, spec) in &self.generators {
            f("generator", &format!("generators.{name}"), spec)?;
        }
        for (name, spec) in &self.experts {
            f("retriever", &format!("experts.{name}"), spec)?;
        }
        for (i, spec) in self.transforms.iter().enumerate() {
            f("transform", &format!("transforms[{i}]"), spec)?;
        }
        let singles = [
            ("router", &self.router),
            ("reranker", &self.reranker),
            ("arranger", &self.arranger),
            ("memory", &self.memory),
        ];
        for (category, spec) in singles {
            if let Some(spec) = spec {
                f(category, category, spec)?;
            }
        }
        Ok(())
    }

    /// Builds every component and the pipeline; relative paths resolve against `base_dir`.
    pub async fn build(&self, registry: &Registry, base_dir: impl AsRef<Path>) -> Result<Pipeline> {
        Ok(self.build_parts(registry, base_dir).await?.pipeline)
    }

    /// [`PipelineConfig::build`], also handing back the named embedders and generators and
    /// the reranker, so a server can offer them beside the pipeline without loading a model
    /// twice.
    pub async fn build_parts(
        &self,
        registry: &Registry,
        base_dir: impl AsRef<Path>,
    ) -> Result<BuiltPipeline> {
        let mut ctx = BuildContext::new(base_dir.as_ref());
        for (name, spec) in &self.embedders {
            let e = registry
                .build::<dyn Embedder>(spec, &ctx, &format!("embedders.{name}"))
                .await?;
            ctx.add_embedder(name.clone(), e);
        }
        for (name, spec) in &self.generators {
            let g = registry
                .build::<dyn Generator>(spec, &ctx, &format!("generators.{name}"))
                .await?;
            ctx.add_generator(name.clone(), g);
        }
        let mut builder = Pipeline::builder()
            .fusion(self.fusion.clone())
            .prompt(self.prompt.clone())
            .sampling(self.sampling.clone())
            .timeouts(self.timeouts)
            .expert_failure(self.expert_failure);
        for (name, spec) in &self.experts {
            let r = registry
                .build::<dyn Retriever>(spec, &ctx, &format!("experts.{name}"))
                .await?;
            builder = builder.expert(name.clone(), r);
        }
        for (i, spec) in self.transforms.iter().enumerate() {
            let t = registry
                .build::<dyn QueryTransform>(spec, &ctx, &format!("transforms[{i}]"))
                .await?;
            builder = builder.transform(t);
        }
        if let Some(spec) = &self.router {
            builder = builder.router(registry.build::<dyn Router>(spec, &ctx, "router").await?);
        }
        let mut reranker = None;
        if let Some(spec) = &self.reranker {
            let r = registry
                .build::<dyn Reranker>(spec, &ctx, "reranker")
                .await?;
            reranker = Some(r.clone());
            builder = builder.reranker(r);
        }
        if let Some(spec) = &self.arranger {
            builder = builder.arranger(
                registry
                    .build::<dyn ContextArranger>(spec, &ctx, "arranger")
                    .await?,
            );
        }
        if let Some(spec) = &self.memory {
            builder = builder.memory(registry.build::<dyn Memory>(spec, &ctx, "memory").await?);
        }
        if let Some(name) = &self.generator {
            builder = builder.generator(ctx.generator("generator", name).map_err(|_| {
                Error::config(
                    "generator",
                    format!("no generator named `{name}` under [generators]"),
                )
            })?);
        }
        if let Some(n) = self.candidates {
            builder = builder.candidates(n);
        }
        Ok(BuiltPipeline {
            pipeline: builder.build()?,
            embedders: ctx.take_embedders(),
            generators: ctx.take_generators(),
            reranker,
        })
    }
}

/// What [`PipelineConfig::build_parts`] built.
#[derive(Clone)]
pub struct BuiltPipeline {
    /// The pipeline.
    pub pipeline: Pipeline,
    /// The `[embedders]`, by name.
    pub embedders: BTreeMap<String, Arc<dyn Embedder>>,
    /// The `[generators]`, by name.
    pub generators: BTreeMap<String, Arc<dyn Generator>>,
    /// The `reranker`, when there is one.
    pub reranker: Option<Arc<dyn Reranker>>,
}

impl std::fmt::Debug for BuiltPipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuiltPipeline")
            .field("experts", &self.pipeline.experts())
            .field("embedders", &self.embedders.keys().collect::<Vec<_>>())
            .field("generators", &self.generators.keys().collect::<Vec<_>>())
            .field("reranker", &self.reranker.is_some())
            .finish()
    }
}
