//! Config kinds: `openai` (generator), `openai_embedder`, `openai_reranker`. Each is a
//! `model` and the plugin's option type, flattened in.

use std::sync::Arc;

use ragweave_core::config::{BuildContext, ComponentConfig};
use ragweave_core::{Embedder, Error, Generator, Reranker, Result};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::embedder::{OpenAiEmbedder, OpenAiEmbedderOptions};
use crate::error::OpenAiError;
use crate::generator::OpenAiGenerator;
use crate::options::OpenAiOptions;
use crate::reranker::OpenAiReranker;

/// Config of an [`OpenAiGenerator`]: the same pipeline moves from a local `llama_cpp`
/// generator to a vLLM or llama-server cluster by changing `kind` and these lines.
///
/// ```toml
/// [generators.llm]
/// kind = "openai"
/// base_url = "http://vllm.internal:8000/v1"
/// model = "Qwen/Qwen2.5-7B-Instruct"
/// api_key_env = "VLLM_API_KEY"
/// ```
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenAiGeneratorConfig {
    /// The model name the server serves.
    pub model: String,
    /// How to reach the server.
    #[serde(flatten, deserialize_with = "ragweave_core::config::flat")]
    pub endpoint: OpenAiOptions,
}

/// Config of an [`OpenAiEmbedder`].
///
/// ```toml
/// [embedders.tei]
/// kind = "openai_embedder"
/// base_url = "http://tei.internal:8080/v1"
/// model = "BAAI/bge-small-en-v1.5"
/// query_prefix = "Represent this sentence for searching relevant passages: "
/// ```
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenAiEmbedderConfig {
    /// The model name the server serves.
    pub model: String,
    /// How to reach the server and embed.
    #[serde(flatten, deserialize_with = "ragweave_core::config::flat")]
    pub options: OpenAiEmbedderOptions,
}

/// Config of an [`OpenAiReranker`].
///
/// ```toml
/// [reranker]
/// kind = "openai_reranker"
/// base_url = "http://localhost:8012/v1"
/// model = "bge-reranker-v2-m3"
/// ```
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenAiRerankerConfig {
    /// The model name the server serves.
    pub model: String,
    /// How to reach the server.
    #[serde(flatten, deserialize_with = "ragweave_core::config::flat")]
    pub endpoint: OpenAiOptions,
}

/// An option error at the field's config path; others as they are.
fn at(ctx: &BuildContext, e: OpenAiError) -> Error {
    match e {
        OpenAiError::Option { option, reason } => {
            Error::config(format!("{}.{option}", ctx.path()), reason)
        }
        other => other.into(),
    }
}

impl ComponentConfig for OpenAiGeneratorConfig {
    type Component = dyn Generator;
    const KIND: &'static str = "openai";

    async fn build(self, ctx: &BuildContext) -> Result<Arc<dyn Generator>> {
        let g = OpenAiGenerator::new(&self.model, self.endpoint).map_err(|e| at(ctx, e))?;
        Ok(Arc::new(g))
    }
}

impl ComponentConfig for OpenAiEmbedderConfig {
    type Component = dyn Embedder;
    const KIND: &'static str = "openai_embedder";

    async fn build(self, ctx: &BuildContext) -> Result<Arc<dyn Embedder>> {
        // Checked now so the error names the config field, not a later request.
        self.options.endpoint.root().map_err(|e| at(ctx, e))?;
        Ok(Arc::new(
            OpenAiEmbedder::connect(&self.model, self.options).await?,
        ))
    }
}

impl ComponentConfig for OpenAiRerankerConfig {
    type Component = dyn Reranker;
    const KIND: &'static str = "openai_reranker";

    async fn build(self, ctx: &BuildContext) -> Result<Arc<dyn Reranker>> {
        let r = OpenAiReranker::new(&self.model, self.endpoint).map_err(|e| at(ctx, e))?;
        Ok(Arc::new(r))
    }
}
