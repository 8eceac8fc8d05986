//! # ragweave
//!
//! Plugin-based RAG orchestration in Rust. This facade re-exports [`ragweave_core`] and,
//! behind one cargo feature per plugin, the plugin crates; [`registry`] returns a config
//! registry with every compiled-in component kind.
//!
//! ```
//! use std::sync::Arc;
//! use ragweave::{Chunk, DenseRetriever, HashingEmbedder, InMemoryStore, Pipeline};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> ragweave::Result<()> {
//! let embedder = Arc::new(HashingEmbedder::new(256));
//! let dense = DenseRetriever::new(embedder, Arc::new(InMemoryStore::new(256)))?;
//! dense.index(vec![Chunk::new("c1", "doc", "Qdrant Edge is the embedded store.")]).await?;
//! let pipeline = Pipeline::builder().expert("dense", Arc::new(dense)).build()?;
//! let answer = pipeline.ask("which store is embedded?").await?;
//! assert_eq!(answer.hits[0].chunk.id, "c1");
//! # Ok(()) }
//! ```

pub use ragweave_core::*;

/// Local BERT-family embedders and cross-encoders on candle (feature `candle`).
#[cfg(feature = "candle")]
pub use ragweave_candle as candle;
/// BEIR evaluation of pipelines (feature `eval`).
#[cfg(feature = "eval")]
pub use ragweave_eval as eval;
/// Ingestion: loaders, chunkers, resumable writes (feature `ingest`).
#[cfg(feature = "ingest")]
pub use ragweave_ingest as ingest;
/// GGUF generators, embedders and rerankers on llama.cpp (feature `llama-cpp`).
#[cfg(feature = "llama-cpp")]
pub use ragweave_llama_cpp as llama_cpp;
/// Generators and embedders on mistral.rs (feature `mistralrs`).
#[cfg(feature = "mistralrs")]
pub use ragweave_mistralrs as mistralrs;
/// Generators, embedders and rerankers over OpenAI-compatible HTTP (feature `openai`).
#[cfg(feature = "openai")]
pub use ragweave_openai as openai;
/// Copying an embedded store into a Qdrant collection (features `qdrant` and
/// `qdrant-edge`).
#[cfg(all(feature = "qdrant", feature = "qdrant-edge"))]
pub mod migrate;
/// Qdrant servers and clusters (feature `qdrant`).
#[cfg(feature = "qdrant")]
pub use ragweave_qdrant as qdrant;
/// The embedded default store on Qdrant Edge (feature `qdrant-edge`).
#[cfg(feature = "qdrant-edge")]
pub use ragweave_qdrant_edge as qdrant_edge;
/// A pipeline over HTTP (feature `serve`).
#[cfg(feature = "serve")]
pub use ragweave_serve as serve;

/// A registry with ragweave-core's components and those of every enabled plugin feature.
pub fn registry() -> config::Registry {
    #[allow(unused_mut)]
    let mut registry = config::Registry::with_builtins();
    #[cfg(feature = "qdrant-edge")]
    ragweave_qdrant_edge::register(&mut registry);
    #[cfg(feature = "qdrant")]
    ragweave_qdrant::register(&mut registry);
    #[cfg(feature = "candle")]
    ragweave_candle::register(&mut registry);
    #[cfg(feature = "llama-cpp")]
    ragweave_llama_cpp::register(&mut registry);
    #[cfg(feature = "mistralrs")]
    ragweave_mistralrs::register(&mut registry);
    #[cfg(feature = "openai")]
    ragweave_openai::register(&mut registry);
    registry
}

// The README's and the book's examples compile (and most run) as doctests, so they cannot
// drift from the API. Chapters about plugins need those plugins' features.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctest;

#[cfg(doctest)]
mod book {
    #[doc = include_str!("../../../docs/concepts.md")]
    struct Concepts;
    #[doc = include_str!("../../../docs/components/routing.md")]
    struct Routing;
    #[doc = include_str!("../../../docs/components/rerankers.md")]
    struct Rerankers;
    #[doc = include_str!("../../../docs/components/memory.md")]
    struct Memory;
    #[doc = include_str!("../../../docs/plugins.md")]
    struct Plugins;
    #[doc = include_str!("../../../docs/getting-started.md")]
    struct GettingStarted;
    #[cfg(all(feature = "qdrant-edge", feature = "ingest"))]
    #[doc = include_str!("../../../docs/components/retrievers.md")]
    struct Retrievers;
    #[cfg(feature = "candle")]
    #[doc = include_str!("../../../docs/components/embedders.md")]
    struct Embedders;
    #[cfg(feature = "llama-cpp")]
    #[doc = include_str!("../../../docs/components/transforms.md")]
    struct Transforms;
    #[cfg(feature = "llama-cpp")]
    #[doc = include_str!("../../../docs/components/generators.md")]
    struct Generators;
    #[cfg(feature = "serve")]
    #[doc = include_str!("../../../docs/serving.md")]
    struct Serving;
    #[cfg(feature = "eval")]
    #[doc = include_str!("../../../docs/evaluation.md")]
    struct Evaluation;
}
