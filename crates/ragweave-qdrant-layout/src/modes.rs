//! What a search reads, and where hybrid results are fused.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which index a search reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SearchMode {
    /// BM25 over the sparse vector (Qdrant's tokenizer, English stemming and stopwords, IDF
    /// computed by the engine).
    #[default]
    Sparse,
    /// Cosine similarity over the dense vector.
    Dense,
    /// Both, fused by reciprocal rank.
    Hybrid,
}

/// Where hybrid results are fused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HybridFusion {
    /// In the engine, as a Qdrant server does it: two prefetches and an RRF query.
    #[default]
    Engine,
    /// Two searches fused by ragweave's [`Rrf`](ragweave_core::Rrf) (k = 60), which
    /// labels each hit with the indexes that found it.
    Ragweave,
}
