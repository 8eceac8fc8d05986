//! Config kinds: `mistralrs` (generator) and `mistralrs_embedder`: a `model` and the
//! component's own option type, flattened in.

use std::sync::Arc;

use ragweave_core::config::{BuildContext, ComponentConfig};
use ragweave_core::{Embedder, Error, Generator, Result};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::embedder::{MistralRsEmbedder, MistralRsEmbedderOptions};
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
    /// How it loads and runs.
    #[serde(flatten, deserialize_with = "ragweave_core::config::flat")]
    pub options: MistralRsGeneratorOptions,
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
    /// How it loads and runs.
    #[serde(flatten, deserialize_with = "ragweave_core::config::flat")]
    pub options: MistralRsEmbedderOptions,
}

fn config_error(ctx: &BuildContext, e: MistralRsError) -> Error {
    Error::config(
        format!("{}.model", ctx.path()),
        ragweave_core::Report::of(&e).to_string(),
    )
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
        let mut options = self.options;
        options.chat_template = options.chat_template.map(|t| template_location(ctx, t));
        options.tokenizer = options
            .tokenizer
            .map(|t| ctx.model_location(&t.to_string_lossy()).into());
        let g = MistralRsGenerator::load(&ctx.model_location(&self.model), options)
            .await
            .map_err(|e| config_error(ctx, e))?;
        Ok(Arc::new(g))
    }
}

impl ComponentConfig for MistralRsEmbedderConfig {
    type Component = dyn Embedder;
    const KIND: &'static str = "mistralrs_embedder";

    async fn build(self, ctx: &BuildContext) -> Result<Arc<dyn Embedder>> {
        let e = MistralRsEmbedder::load(&ctx.model_location(&self.model), self.options)
            .await
            .map_err(|e| config_error(ctx, e))?;
        Ok(Arc::new(e))
    }
}
