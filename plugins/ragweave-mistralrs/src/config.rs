//! Config kinds: `mistralrs` (generator) and `mistralrs_embedder`.
//!
//! The generator kind takes the llama.cpp generator's `model`, `revision`, `parallel` and
//! `chat_template` keys with the same meaning, so a pipeline moves between the engines by
//! changing `kind` alone.

use std::sync::Arc;

use ragweave_core::config::{BuildContext, ComponentConfig};
use ragweave_core::{Embedder, Error, Generator, Result};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::embedder::{MistralRsEmbedder, MistralRsEmbedderOptions};
use crate::engine::Dtype;
use crate::error::MistralRsError;
use crate::generator::{MistralRsGenerator, MistralRsGeneratorOptions};

/// Config of a [`MistralRsGenerator`].
///
/// ```toml
/// [generators.local]
/// kind = "mistralrs"
/// model = "models/qwen2.5-0.5b-instruct-q8_0.gguf"   # a .gguf, a model directory, or a hub id
/// parallel = 4
/// ```
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MistralRsGeneratorConfig {
    /// A `.gguf` file or a Hugging Face-format directory (relative to the config file), a hub
    /// repository `owner/repo`, or a hub GGUF file `owner/repo/file.gguf`.
    pub model: String,
    /// Hub revision for hub models.
    #[serde(default)]
    pub revision: Option<String>,
    /// Requests the scheduler runs together.
    #[serde(default = "default_parallel")]
    pub parallel: usize,
    /// `chatml`, Jinja template text, or a `.jinja` / `.json` file; default: the model's.
    #[serde(default)]
    pub chat_template: Option<String>,
    /// A `tokenizer.json` instead of the model's.
    #[serde(default)]
    pub tokenizer: Option<String>,
    /// In-situ quantisation of Hugging Face-format weights (`q4k`, `q8_0`, `hqq4`, ...).
    #[serde(default)]
    pub isq: Option<String>,
    /// `auto`, `f32`, `f16` or `bf16` for Hugging Face-format weights.
    #[serde(default)]
    pub dtype: Dtype,
    /// Run on the CPU even in a `cuda` build.
    #[serde(default)]
    pub cpu: bool,
}

fn default_parallel() -> usize {
    4
}

fn config_error(ctx: &BuildContext, e: MistralRsError) -> Error {
    Error::config(format!("{}.model", ctx.path()), e.to_string())
}

/// A template given as a file is relative to the config, like the model.
fn template_location(ctx: &BuildContext, t: String) -> String {
    let is_file =
        !t.contains("{{") && !t.contains("{%") && (t.ends_with(".jinja") || t.ends_with(".json"));
    if is_file { ctx.model_location(&t) } else { t }
}

impl ComponentConfig for MistralRsGeneratorConfig {
    type Component = dyn Generator;
    const KIND: &'static str = "mistralrs";

    async fn build(self, ctx: &BuildContext) -> Result<Arc<dyn Generator>> {
        let options = MistralRsGeneratorOptions {
            revision: self.revision,
            chat_template: self.chat_template.map(|t| template_location(ctx, t)),
            tokenizer: self.tokenizer.map(|t| ctx.model_location(&t).into()),
            isq: self.isq,
            dtype: self.dtype,
            parallel: self.parallel,
            cpu: self.cpu,
        };
        let g = MistralRsGenerator::load(&ctx.model_location(&self.model), options)
            .await
            .map_err(|e| config_error(ctx, e))?;
        Ok(Arc::new(g))
    }
}

/// Config of a [`MistralRsEmbedder`].
///
/// ```toml
/// [embedders.qwen3]
/// kind = "mistralrs_embedder"
/// model = "Qwen/Qwen3-Embedding-0.6B"
/// ```
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MistralRsEmbedderConfig {
    /// A Hugging Face-format directory (relative to the config file) or hub repository.
    pub model: String,
    /// Hub revision for hub models.
    #[serde(default)]
    pub revision: Option<String>,
    /// Text before each query; default: the model's `query` prompt.
    #[serde(default)]
    pub query_prefix: Option<String>,
    /// Text before each document; default: the model's `document` prompt.
    #[serde(default)]
    pub document_prefix: Option<String>,
    /// In-situ quantisation at load (`q8_0`, `q4k`, ...).
    #[serde(default)]
    pub isq: Option<String>,
    /// `auto`, `f32`, `f16` or `bf16`.
    #[serde(default)]
    pub dtype: Dtype,
    /// Texts the scheduler embeds together (default 32).
    #[serde(default)]
    pub parallel: Option<usize>,
    /// Run on the CPU even in a `cuda` build.
    #[serde(default)]
    pub cpu: bool,
    /// The model id stores record; default: the directory name or hub id.
    #[serde(default)]
    pub model_id: Option<String>,
}

impl ComponentConfig for MistralRsEmbedderConfig {
    type Component = dyn Embedder;
    const KIND: &'static str = "mistralrs_embedder";

    async fn build(self, ctx: &BuildContext) -> Result<Arc<dyn Embedder>> {
        let options = MistralRsEmbedderOptions {
            revision: self.revision,
            query_prefix: self.query_prefix,
            document_prefix: self.document_prefix,
            isq: self.isq,
            dtype: self.dtype,
            parallel: self.parallel,
            cpu: self.cpu,
            model_id: self.model_id,
        };
        let e = MistralRsEmbedder::load(&ctx.model_location(&self.model), options)
            .await
            .map_err(|e| config_error(ctx, e))?;
        Ok(Arc::new(e))
    }
}
