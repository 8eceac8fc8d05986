//! Config kinds: `llama_cpp` (generator), `llama_cpp_embedder`, `llama_cpp_reranker`.

use std::sync::Arc;

use ragweave_core::config::{BuildContext, ComponentConfig};
use ragweave_core::{Embedder, Error, Generator, Reranker, Result};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::embedder::{EmbeddingPooling, LlamaEmbedder, LlamaEmbedderOptions};
use crate::encoder::EncoderOptions;
use crate::error::LlamaCppError;
use crate::generator::{LlamaGenerator, LlamaGeneratorOptions};
use crate::reranker::{LlamaReranker, LlamaRerankerOptions};

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
    /// Hub revision for hub files.
    #[serde(default)]
    pub revision: Option<String>,
    /// Context window per request; default: the model's, at most 4,096.
    #[serde(default)]
    pub context_length: Option<u32>,
    /// Requests decoded together.
    #[serde(default = "default_parallel")]
    pub parallel: u32,
    /// Most tokens per decode call.
    #[serde(default = "default_batch")]
    pub batch_size: u32,
    /// CPU threads; default: every core.
    #[serde(default)]
    pub threads: Option<u32>,
    /// Layers offloaded to the GPU (a `cuda` build).
    #[serde(default)]
    pub gpu_layers: u32,
    /// A llama.cpp template name (`chatml`, `llama3`, ...); default: the model's.
    #[serde(default)]
    pub chat_template: Option<String>,
}

fn default_parallel() -> u32 {
    4
}
fn default_batch() -> u32 {
    512
}
fn default_sequences() -> u32 {
    64
}
fn yes() -> bool {
    true
}

fn config_error(ctx: &BuildContext, e: LlamaCppError) -> Error {
    Error::config(format!("{}.model", ctx.path()), e.to_string())
}

impl ComponentConfig for LlamaGeneratorConfig {
    type Component = dyn Generator;
    const KIND: &'static str = "llama_cpp";

    async fn build(self, ctx: &BuildContext) -> Result<Arc<dyn Generator>> {
        let options = LlamaGeneratorOptions {
            context_length: self.context_length,
            parallel: self.parallel,
            batch_size: self.batch_size,
            threads: self.threads,
            gpu_layers: self.gpu_layers,
            chat_template: self.chat_template,
            revision: self.revision,
        };
        let g = LlamaGenerator::load(&ctx.model_location(&self.model), options)
            .map_err(|e| config_error(ctx, e))?;
        Ok(Arc::new(g))
    }
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
    /// Hub revision for hub files.
    #[serde(default)]
    pub revision: Option<String>,
    /// `mean`, `cls` or `last`; default: the model's metadata.
    #[serde(default)]
    pub pooling: Option<EmbeddingPooling>,
    /// L2-normalise vectors.
    #[serde(default = "yes")]
    pub normalize: bool,
    /// Text before each query.
    #[serde(default)]
    pub query_prefix: Option<String>,
    /// Text before each document.
    #[serde(default)]
    pub document_prefix: Option<String>,
    /// Longest input in tokens; default: the model's training context.
    #[serde(default)]
    pub max_length: Option<u32>,
    /// Most tokens per decode call; default: `max_length` (attention spans the batch).
    #[serde(default)]
    pub batch_tokens: Option<u32>,
    /// Flash attention: faster on the CPU, outputs then move about 1e-3 with their batch.
    #[serde(default)]
    pub flash_attention: bool,
    /// Most texts per decode call.
    #[serde(default = "default_sequences")]
    pub max_sequences: u32,
    /// CPU threads; default: every core.
    #[serde(default)]
    pub threads: Option<u32>,
    /// Layers offloaded to the GPU (a `cuda` build).
    #[serde(default)]
    pub gpu_layers: u32,
    /// The model id stores record; default: the file name without `.gguf`.
    #[serde(default)]
    pub model_id: Option<String>,
}

impl ComponentConfig for LlamaEmbedderConfig {
    type Component = dyn Embedder;
    const KIND: &'static str = "llama_cpp_embedder";

    async fn build(self, ctx: &BuildContext) -> Result<Arc<dyn Embedder>> {
        let options = LlamaEmbedderOptions {
            pooling: self.pooling,
            normalize: self.normalize,
            query_prefix: self.query_prefix,
            document_prefix: self.document_prefix,
            encoder: EncoderOptions {
                max_length: self.max_length,
                batch_tokens: self.batch_tokens,
                max_sequences: self.max_sequences,
                flash_attention: self.flash_attention,
                threads: self.threads,
                gpu_layers: self.gpu_layers,
                revision: self.revision,
            },
            model_id: self.model_id,
        };
        let e = LlamaEmbedder::load(&ctx.model_location(&self.model), options)
            .map_err(|e| config_error(ctx, e))?;
        Ok(Arc::new(e))
    }
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
    /// Hub revision for hub files.
    #[serde(default)]
    pub revision: Option<String>,
    /// Longest query + passage in tokens; default: the model's training context.
    #[serde(default)]
    pub max_length: Option<u32>,
    /// Most tokens per decode call; default: `max_length` (attention spans the batch).
    #[serde(default)]
    pub batch_tokens: Option<u32>,
    /// Flash attention: faster on the CPU, outputs then move about 1e-3 with their batch.
    #[serde(default)]
    pub flash_attention: bool,
    /// Most pairs per decode call.
    #[serde(default = "default_sequences")]
    pub max_sequences: u32,
    /// CPU threads; default: every core.
    #[serde(default)]
    pub threads: Option<u32>,
    /// Layers offloaded to the GPU (a `cuda` build).
    #[serde(default)]
    pub gpu_layers: u32,
}

impl ComponentConfig for LlamaRerankerConfig {
    type Component = dyn Reranker;
    const KIND: &'static str = "llama_cpp_reranker";

    async fn build(self, ctx: &BuildContext) -> Result<Arc<dyn Reranker>> {
        let options = LlamaRerankerOptions {
            max_length: self.max_length,
            batch_tokens: self.batch_tokens,
            max_sequences: self.max_sequences,
            flash_attention: self.flash_attention,
            threads: self.threads,
            gpu_layers: self.gpu_layers,
            revision: self.revision,
        };
        let r = LlamaReranker::load(&ctx.model_location(&self.model), options)
            .map_err(|e| config_error(ctx, e))?;
        Ok(Arc::new(r))
    }
}
