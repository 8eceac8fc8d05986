//! Config kinds: `llama_cpp` (generator), `llama_cpp_embedder`, `llama_cpp_reranker`: a
//! `model` and the component's own option type, flattened in.

use std::sync::Arc;

use ragweave_core::config::{BuildContext, ComponentConfig};
use ragweave_core::{Embedder, Error, Generator, Reranker, Result};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::embedder::{LlamaEmbedder, LlamaEmbedderOptions};
use crate::encoder::EncoderOptions;
use crate::error::LlamaCppError;
use crate::generator::{LlamaGenerator, LlamaGeneratorOptions};
use crate::reranker::LlamaReranker;

/// Config of a [`LlamaGenerator`].
///
/// ```toml
/// [generators.local]
/// kind = "llama_cpp"
/// model = "models/qwen2.5-0.5b-instruct-q8_0.gguf"   # relative to the config, or owner/repo/file.gguf
/// context_length = 4096
/// parallel = 4
/// ```
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LlamaGeneratorConfig {
    /// A GGUF file (relative to the config file) or a hub file `owner/repo/file.gguf`.
    pub model: String,
    /// How it loads and runs.
    #[serde(flatten, deserialize_with = "ragweave_core::config::flat")]
    pub options: LlamaGeneratorOptions,
}

/// Config of a [`LlamaEmbedder`].
///
/// ```toml
/// [embedders.minilm]
/// kind = "llama_cpp_embedder"
/// model = "models/all-MiniLM-L6-v2.gguf"
/// ```
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LlamaEmbedderConfig {
    /// A GGUF file (relative to the config file) or a hub file `owner/repo/file.gguf`.
    pub model: String,
    /// How it loads, runs and pools.
    #[serde(flatten, deserialize_with = "ragweave_core::config::flat")]
    pub options: LlamaEmbedderOptions,
}

/// Config of a [`LlamaReranker`].
///
/// ```toml
/// [reranker]
/// kind = "llama_cpp_reranker"
/// model = "models/bge-reranker-v2-m3-q8_0.gguf"
/// ```
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LlamaRerankerConfig {
    /// A GGUF file (relative to the config file) or a hub file `owner/repo/file.gguf`.
    pub model: String,
    /// How it loads and runs.
    #[serde(flatten, deserialize_with = "ragweave_core::config::flat")]
    pub options: EncoderOptions,
}

/// A loading error at the config's `model` field; a bad option at its own field.
fn at(ctx: &BuildContext, e: LlamaCppError) -> Error {
    let field = match &e {
        LlamaCppError::Option { option, .. } => *option,
        _ => "model",
    };
    Error::config(
        format!("{}.{field}", ctx.path()),
        ragweave_core::Report::of(&e).to_string(),
    )
}

impl ComponentConfig for LlamaGeneratorConfig {
    type Component = dyn Generator;
    const KIND: &'static str = "llama_cpp";

    async fn build(self, ctx: &BuildContext) -> Result<Arc<dyn Generator>> {
        let g = LlamaGenerator::load(&ctx.model_location(&self.model), self.options)
            .map_err(|e| at(ctx, e))?;
        Ok(Arc::new(g))
    }
}

impl ComponentConfig for LlamaEmbedderConfig {
    type Component = dyn Embedder;
    const KIND: &'static str = "llama_cpp_embedder";

    async fn build(self, ctx: &BuildContext) -> Result<Arc<dyn Embedder>> {
        let e = LlamaEmbedder::load(&ctx.model_location(&self.model), self.options)
            .map_err(|e| at(ctx, e))?;
        Ok(Arc::new(e))
    }
}

impl ComponentConfig for LlamaRerankerConfig {
    type Component = dyn Reranker;
    const KIND: &'static str = "llama_cpp_reranker";

    async fn build(self, ctx: &BuildContext) -> Result<Arc<dyn Reranker>> {
        let r = LlamaReranker::load(&ctx.model_location(&self.model), self.options)
            .map_err(|e| at(ctx, e))?;
        Ok(Arc::new(r))
    }
}
