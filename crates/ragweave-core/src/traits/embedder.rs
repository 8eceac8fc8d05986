//! Turns text into dense vectors.

use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::traits::token_counter::TokenCounter;

/// Whether a text is a query or a document: asymmetric models (bge, e5, LLM-Embedder) embed
/// the two sides differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    /// A search query.
    Query,
    /// A passage to be searched.
    Document,
}

/// How to embed a batch: which side it is, and an optional task instruction
/// (LLM-Embedder's "Represent this query for retrieving ...").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbedInput<'a> {
    /// Query or document.
    pub kind: InputKind,
    /// Task instruction the embedder prepends as its model expects; `None` uses its default.
    pub instruction: Option<&'a str>,
}

impl EmbedInput<'_> {
    /// Queries, with the embedder's default instruction.
    pub const QUERY: EmbedInput<'static> = EmbedInput {
        kind: InputKind::Query,
        instruction: None,
    };
    /// Documents, with the embedder's default instruction.
    pub const DOCUMENT: EmbedInput<'static> = EmbedInput {
        kind: InputKind::Document,
        instruction: None,
    };
}

/// Embeds batches of text into vectors of a fixed dimension.
///
/// Implementations must return one finite vector of length [`Embedder::dimension`] per
/// input, in input order, the same vector for the same text whether batched or not, and
/// an [`Error::InvalidInput`] (not a panic) for a text they cannot embed.
/// `ragweave_testkit::embedder::check` verifies all of this.
#[async_trait]
pub trait Embedder: Send + Sync {
    /// Short name of the engine for traces and errors, e.g. `candle`; the model is
    /// [`Embedder::model_id`].
    fn name(&self) -> &str;

    /// Identifies the model, so a query vector made by one embedder is never searched
    /// against another's index.
    fn model_id(&self) -> &str;

    /// Length of every vector this embedder returns.
    fn dimension(&self) -> usize;

    /// Counts tokens with the model's own tokenizer, so chunkers cut text to what the model
    /// reads. `None` (the default) lets callers fall back to an estimate.
    fn token_counter(&self) -> Option<Arc<dyn TokenCounter>> {
        None
    }

    /// Longest input, in the model's tokens, that it embeds without truncating; `None` when
    /// unknown or unlimited.
    fn max_input_tokens(&self) -> Option<usize> {
        None
    }

    /// Embeds `texts` in order.
    async fn embed(&self, texts: &[String], input: EmbedInput<'_>) -> Result<Vec<Vec<f32>>>;

    /// Embeds `texts` and checks the embedder kept its contract: one vector per input, each
    /// of [`Embedder::dimension`] entries. Callers that index by position use this.
    async fn embed_checked(
        &self,
        texts: &[String],
        input: EmbedInput<'_>,
    ) -> Result<Vec<Vec<f32>>> {
        let vectors = self.embed(texts, input).await?;
        if vectors.len() != texts.len() {
            return Err(Error::component(
                self.model_id(),
                format!(
                    "returned {} vectors for {} texts",
                    vectors.len(),
                    texts.len()
                ),
            ));
        }
        if let Some(i) = vectors.iter().position(|v| v.len() != self.dimension()) {
            return Err(Error::DimensionMismatch {
                field: format!("{} output[{i}]", self.model_id()),
                expected: self.dimension(),
                actual: vectors[i].len(),
            });
        }
        Ok(vectors)
    }

    /// Embeds a single text.
    async fn embed_one(&self, text: &str, input: EmbedInput<'_>) -> Result<Vec<f32>> {
        let mut out = self.embed_checked(&[text.to_string()], input).await?;
        out.pop()
            .ok_or_else(|| Error::component(self.model_id(), "returned no vector for one input"))
    }
}
