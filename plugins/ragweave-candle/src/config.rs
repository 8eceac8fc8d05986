//! `kind = "candle"` (embedder) and `kind = "candle_cross_encoder"` (reranker).

use std::sync::Arc;

use ragweave_core::config::{BuildContext, ComponentConfig};
use ragweave_core::{Embedder, Error, Reranker, Result};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::cross_encoder::{CrossEncoder, CrossEncoderOptions};
use crate::embedder::{CandleEmbedder, CandleEmbedderOptions};
use crate::options::{Accelerator, Precision};
use crate::pooling::Pooling;

/// Config of a [`CandleEmbedder`].
///
/// ```toml
/// [embedders.minilm]
/// kind = "candle"
/// model = "models/all-MiniLM-L6-v2"   # a directory (relative to the config) or a hub id
/// precision = "f32"                   # or "bf16", "f16"
/// ```
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CandleEmbedderConfig {
    /// A model directory (relative to the config file) or a Hugging Face hub id.
    pub model: String,
    /// Hub revision (branch, tag or commit) for hub ids.
    #[serde(default)]
    pub revision: Option<String>,
    /// `f32` (default), `bf16` or `f16`.
    #[serde(default)]
    pub precision: Precision,
    /// `{ type = "cpu" }` (default) or `{ type = "cuda", ordinal = 0 }`.
    #[serde(default)]
    pub device: Accelerator,
    /// Texts per forward pass.
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Longest input in tokens; default: the model's.
    #[serde(default)]
    pub max_length: Option<usize>,
    /// `mean`, `cls` or `max`; default: the model's pooling config.
    #[serde(default)]
    pub pooling: Option<Pooling>,
    /// Prefix before queries; default: the model's prompt.
    #[serde(default)]
    pub query_prefix: Option<String>,
    /// Prefix before documents; default: the model's prompt.
    #[serde(default)]
    pub document_prefix: Option<String>,
    /// L2-normalise vectors.
    #[serde(default = "yes")]
    pub normalize: bool,
    /// The model id stores record; default: the model's name.
    #[serde(default)]
    pub model_id: Option<String>,
}

fn default_batch() -> usize {
    32
}
fn yes() -> bool {
    true
}

impl ComponentConfig for CandleEmbedderConfig {
    type Component = dyn Embedder;
    const KIND: &'static str = "candle";

    async fn build(self, ctx: &BuildContext) -> Result<Arc<dyn Embedder>> {
        let options = CandleEmbedderOptions {
            precision: self.precision,
            accelerator: self.device,
            batch_size: self.batch_size,
            max_length: self.max_length,
            pooling: self.pooling,
            query_prefix: self.query_prefix,
            document_prefix: self.document_prefix,
            normalize: self.normalize,
            model_id: self.model_id,
            revision: self.revision,
        };
        let embedder = CandleEmbedder::load(&ctx.model_location(&self.model), options)
            .map_err(|e| Error::config(format!("{}.model", ctx.path()), e.to_string()))?;
        Ok(Arc::new(embedder))
    }
}

/// Config of a [`CrossEncoder`] reranker.
///
/// ```toml
/// [reranker]
/// kind = "candle_cross_encoder"
/// model = "cross-encoder/ms-marco-MiniLM-L-6-v2"
/// ```
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CrossEncoderConfig {
    /// A model directory (relative to the config file) or a Hugging Face hub id.
    pub model: String,
    /// Hub revision for hub ids.
    #[serde(default)]
    pub revision: Option<String>,
    /// `f32` (default), `bf16` or `f16`.
    #[serde(default)]
    pub precision: Precision,
    /// `{ type = "cpu" }` (default) or `{ type = "cuda", ordinal = 0 }`.
    #[serde(default)]
    pub device: Accelerator,
    /// Pairs per forward pass.
    #[serde(default = "default_pairs")]
    pub batch_size: usize,
    /// Longest query + passage in tokens; default: the model's.
    #[serde(default)]
    pub max_length: Option<usize>,
}

fn default_pairs() -> usize {
    16
}

impl ComponentConfig for CrossEncoderConfig {
    type Component = dyn Reranker;
    const KIND: &'static str = "candle_cross_encoder";

    async fn build(self, ctx: &BuildContext) -> Result<Arc<dyn Reranker>> {
        let options = CrossEncoderOptions {
            precision: self.precision,
            accelerator: self.device,
            batch_size: self.batch_size,
            max_length: self.max_length,
            revision: self.revision,
        };
        let reranker = CrossEncoder::load(&ctx.model_location(&self.model), options)
            .map_err(|e| Error::config(format!("{}.model", ctx.path()), e.to_string()))?;
        Ok(Arc::new(reranker))
    }
}
