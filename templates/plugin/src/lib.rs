//! A ragweave embedder plugin.
//!
//! [`TrigramEmbedder`] embeds text as signed, hashed character trigrams: a real embedder
//! that needs no model file, standing in for the engine this crate will wrap. Replace its
//! insides, keep its contract; `tests/conformance.rs` checks that contract.

use std::sync::Arc;

use ragweave_core::config::{BuildContext, ComponentConfig, Registry};
use ragweave_core::{EmbedInput, Embedder, Error, Result, async_trait};
use schemars::JsonSchema;
use serde::Deserialize;

/// Embeds each text as an L2-normalised bag of hashed character trigrams.
#[derive(Debug, Clone)]
pub struct TrigramEmbedder {
    dimension: usize,
    model_id: String,
}

impl TrigramEmbedder {
    /// An embedder of `dimension`-long vectors; a dimension of 0 is refused.
    pub fn new(dimension: usize) -> Result<Self> {
        if dimension == 0 {
            return Err(Error::config("dimension", "must be at least 1"));
        }
        Ok(Self {
            dimension,
            // The id keys stored vectors: it must change whenever the vectors would.
            model_id: format!("{}-trigram-{dimension}", env!("CARGO_PKG_NAME")),
        })
    }

    fn embed_one(&self, text: &str, index: usize) -> Result<Vec<f32>> {
        let padded: Vec<char> = format!(" {} ", text.to_lowercase()).chars().collect();
        let mut vector = vec![0.0f32; self.dimension];
        for gram in padded.windows(3) {
            if gram.iter().all(|c| c.is_whitespace()) {
                continue;
            }
            let hash = fnv1a(gram);
            let sign = if hash >> 63 == 0 { 1.0 } else { -1.0 };
            vector[(hash % self.dimension as u64) as usize] += sign;
        }
        let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm == 0.0 {
            // Say which input was wrong, so a caller can find it in a batch.
            return Err(Error::invalid(
                format!("texts[{index}]"),
                "text is empty or blank",
            ));
        }
        vector.iter_mut().for_each(|x| *x /= norm);
        Ok(vector)
    }
}

fn fnv1a(chars: &[char]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for c in chars {
        for byte in (*c as u32).to_le_bytes() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

#[async_trait]
impl Embedder for TrigramEmbedder {
    fn name(&self) -> &str {
        "trigram"
    }

    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    async fn embed(&self, texts: &[String], _input: EmbedInput<'_>) -> Result<Vec<Vec<f32>>> {
        // A model-backed embedder runs this inside `tokio::task::spawn_blocking`.
        texts
            .iter()
            .enumerate()
            .map(|(i, text)| self.embed_one(text, i))
            .collect()
    }
}

/// `kind = "{{crate_name}}"` in a pipeline config's `[embedders.<name>]`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrigramEmbedderConfig {
    /// Vector length.
    #[serde(default = "default_dimension")]
    pub dimension: usize,
}

fn default_dimension() -> usize {
    384
}

impl ComponentConfig for TrigramEmbedderConfig {
    type Component = dyn Embedder;
    const KIND: &'static str = "{{crate_name}}";

    async fn build(self, ctx: &BuildContext) -> Result<Arc<dyn Embedder>> {
        let embedder = TrigramEmbedder::new(self.dimension).map_err(|e| match e {
            Error::Config { message, .. } => {
                Error::config(format!("{}.dimension", ctx.path()), message)
            }
            other => other,
        })?;
        Ok(Arc::new(embedder))
    }
}

/// Adds this plugin's component kinds to a config registry.
pub fn register(registry: &mut Registry) {
    registry.register::<TrigramEmbedderConfig>();
}
