//! `kind = "candle"` (embedder) and `kind = "candle_cross_encoder"` (reranker): a `model`
//! and the component's own option type, flattened in.

use std::sync::Arc;

use ragweave_core::config::{BuildContext, ComponentConfig};
use ragweave_core::{Embedder, Error, Reranker, Result};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::cross_encoder::{CrossEncoder, CrossEncoderOptions};
use crate::embedder::{CandleEmbedder, CandleEmbedderOptions};

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
    /// How it loads and runs.
    #[serde(flatten, deserialize_with = "ragweave_core::config::flat")]
    pub options: CandleEmbedderOptions,
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
    /// How it loads and runs.
    #[serde(flatten, deserialize_with = "ragweave_core::config::flat")]
    pub options: CrossEncoderOptions,
}

fn at_model(ctx: &BuildContext, e: crate::CandleError) -> Error {
    Error::config(
        format!("{}.model", ctx.path()),
        ragweave_core::Report::of(&e).to_string(),
    )
}

impl ComponentConfig for CandleEmbedderConfig {
    type Component = dyn Embedder;
    const KIND: &'static str = "candle";

    async fn build(self, ctx: &BuildContext) -> Result<Arc<dyn Embedder>> {
        let embedder = CandleEmbedder::load(&ctx.model_location(&self.model), self.options)
            .map_err(|e| at_model(ctx, e))?;
        Ok(Arc::new(embedder))
    }
}

impl ComponentConfig for CrossEncoderConfig {
    type Component = dyn Reranker;
    const KIND: &'static str = "candle_cross_encoder";

    async fn build(self, ctx: &BuildContext) -> Result<Arc<dyn Reranker>> {
        let reranker = CrossEncoder::load(&ctx.model_location(&self.model), self.options)
            .map_err(|e| at_model(ctx, e))?;
        Ok(Arc::new(reranker))
    }
}
