//! # ragweave-qdrant-edge
//!
//! ragweave's embedded default store on [Qdrant Edge](https://qdrant.tech/edge/), the Qdrant
//! engine in process: one directory on disk holds, per chunk, a BM25 sparse vector (Qdrant's
//! tokenizer, IDF by the engine), an optional dense cosine vector and the chunk as payload.
//! [`EdgeStore`] implements [`ragweave_core::ChunkStore`], so ingestion writes it and its
//! [`EdgeRetriever`] searches it in [`SearchMode::Sparse`], [`SearchMode::Dense`] or
//! [`SearchMode::Hybrid`] (fused in the engine or by ragweave's RRF).
//!
//! `qdrant-edge` is pinned to 0.7.2: 0.8 and 0.9 use the unstable `assert_matches` and do
//! not build on stable Rust 1.95.
//!
//! Register the `qdrant_edge` store kind with [`register`]; experts search it with the core
//! `store` retriever kind.

mod config;
mod error;
mod filter;
mod retriever;
mod store;

pub use config::EdgeStoreConfig;
pub use error::EdgeStoreError;
pub use filter::to_qdrant;
pub use ragweave_core::{DenseSpec, HybridFusion, SearchMode, StoreSearch};
pub use ragweave_qdrant_layout::DEFAULT_BM25_AVG_LEN;
pub use retriever::EdgeRetriever;
pub use store::{EdgeStore, EdgeStoreOptions};

/// Adds the `qdrant_edge` store kind to `registry`.
pub fn register(registry: &mut ragweave_core::config::Registry) {
    registry.register::<EdgeStoreConfig>();
}
