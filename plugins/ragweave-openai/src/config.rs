//! Config kinds: `openai` (generator), `openai_embedder`, `openai_reranker`.

use std::sync::Arc;
use std::time::Duration;

use ragweave_core::config::{BuildContext, ComponentConfig};
use ragweave_core::{Embedder, Error, Generator, Reranker, Result};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::embedder::{OpenAiEmbedder, OpenAiEmbedderOptions};
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
    /// The API root with its version, e.g. `http://localhost:8080/v1`; default
    /// `$OPENAI_BASE_URL`.
    #[serde(default)]
    pub base_url: Option<String>,
    /// The model name the server serves.
    pub model: String,
    /// The environment variable holding the API key (never the key itself in a file);
    /// unset or empty sends no key.
    #[serde(default = "default_key_env")]
    pub api_key_env: String,
    /// Seconds to wait for a reply, or for each next streamed piece.
    #[serde(default = "default_timeout")]
    pub timeout_secs: f64,
    /// Tries per request on 429, 5xx and lost connections (1 = no retries).
    #[serde(default = "default_attempts")]
    pub attempts: u32,
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
    /// The API root with its version; default `$OPENAI_BASE_URL`.
    #[serde(default)]
    pub base_url: Option<String>,
    /// The model name the server serves.
    pub model: String,
    /// The environment variable holding the API key.
    #[serde(default = "default_key_env")]
    pub api_key_env: String,
    /// Seconds to wait for a reply.
    #[serde(default = "default_timeout")]
    pub timeout_secs: f64,
    /// Tries per request on 429, 5xx and lost connections.
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    /// The vector length; default: asked of the server at start.
    #[serde(default)]
    pub dimension: Option<usize>,
    /// Texts per request.
    #[serde(default)]
    pub batch_size: Option<usize>,
    /// Put before each query.
    #[serde(default)]
    pub query_prefix: String,
    /// Put before each document.
    #[serde(default)]
    pub document_prefix: String,
    /// Send `input_type` (`query` / `document`) for servers that read it (`ragweave serve`).
    #[serde(default)]
    pub send_input_type: bool,
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
    /// The API root with its version; default `$OPENAI_BASE_URL`.
    #[serde(default)]
    pub base_url: Option<String>,
    /// The model name the server serves.
    pub model: String,
    /// The environment variable holding the API key.
    #[serde(default = "default_key_env")]
    pub api_key_env: String,
    /// Seconds to wait for a reply.
    #[serde(default = "default_timeout")]
    pub timeout_secs: f64,
    /// Tries per request on 429, 5xx and lost connections.
    #[serde(default = "default_attempts")]
    pub attempts: u32,
}

fn default_key_env() -> String {
    "OPENAI_API_KEY".into()
}
fn default_timeout() -> f64 {
    60.0
}
fn default_attempts() -> u32 {
    5
}

/// The options the three kinds share, checked, with errors at the field's config path.
fn options(
    ctx: &BuildContext,
    base_url: &Option<String>,
    model: &str,
    api_key_env: &str,
    timeout_secs: f64,
    attempts: u32,
) -> Result<OpenAiOptions> {
    let base_url = match base_url {
        Some(url) => url.clone(),
        None => std::env::var("OPENAI_BASE_URL").map_err(|_| {
            Error::config(
                format!("{}.base_url", ctx.path()),
                "is not set and neither is $OPENAI_BASE_URL",
            )
        })?,
    };
    if !(timeout_secs.is_finite() && timeout_secs > 0.0) {
        return Err(Error::config(
            format!("{}.timeout_secs", ctx.path()),
            format!("must be a positive number, got {timeout_secs}"),
        ));
    }
    let mut options = OpenAiOptions::new(base_url, model).api_key_from_env(api_key_env);
    options.timeout = Duration::from_secs_f64(timeout_secs);
    options.retry.attempts = attempts.max(1);
    // Checked now so the error names the config field, not a later request.
    options
        .root()
        .map_err(|e| Error::config(format!("{}.base_url", ctx.path()), e.to_string()))?;
    Ok(options)
}

impl ComponentConfig for OpenAiGeneratorConfig {
    type Component = dyn Generator;
    const KIND: &'static str = "openai";

    async fn build(self, ctx: &BuildContext) -> Result<Arc<dyn Generator>> {
        let o = options(
            ctx,
            &self.base_url,
            &self.model,
            &self.api_key_env,
            self.timeout_secs,
            self.attempts,
        )?;
        Ok(Arc::new(OpenAiGenerator::new(o)?))
    }
}

impl ComponentConfig for OpenAiEmbedderConfig {
    type Component = dyn Embedder;
    const KIND: &'static str = "openai_embedder";

    async fn build(self, ctx: &BuildContext) -> Result<Arc<dyn Embedder>> {
        let o = options(
            ctx,
            &self.base_url,
            &self.model,
            &self.api_key_env,
            self.timeout_secs,
            self.attempts,
        )?;
        let embedder = OpenAiEmbedderOptions {
            dimension: self.dimension,
            batch_size: self.batch_size,
            query_prefix: self.query_prefix,
            document_prefix: self.document_prefix,
            send_input_type: self.send_input_type,
        };
        Ok(Arc::new(OpenAiEmbedder::connect(o, embedder).await?))
    }
}

impl ComponentConfig for OpenAiRerankerConfig {
    type Component = dyn Reranker;
    const KIND: &'static str = "openai_reranker";

    async fn build(self, ctx: &BuildContext) -> Result<Arc<dyn Reranker>> {
        let o = options(
            ctx,
            &self.base_url,
            &self.model,
            &self.api_key_env,
            self.timeout_secs,
            self.attempts,
        )?;
        Ok(Arc::new(OpenAiReranker::new(o)?))
    }
}
