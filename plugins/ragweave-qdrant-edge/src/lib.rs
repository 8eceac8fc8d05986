//! # ragweave-qdrant-edge
//!
//! ragweave's embedded default store on [Qdrant Edge](https://qdrant.tech/edge/), the Qdrant
//! engine in process: one directory on disk holds, per chunk, a BM25 sparse vector (the
//! engine's own tokenizer and IDF), an optional dense cosine vector and the chunk as
//! payload. [`EdgeStore`] implements [`ragweave_core::ChunkStore`] for ingestion;
//! [`EdgeRetriever`] implements [`ragweave_core::Retriever`] in [`SearchMode::Sparse`],
//! [`SearchMode::Dense`] or [`SearchMode::Hybrid`] (fused in the engine or by ragweave's RRF).
//!
//! `qdrant-edge` is pinned to 0.7.2: 0.8 and 0.9 use the unstable `assert_matches` and do
//! not build on stable Rust 1.95.
//!
//! Register the `qdrant_edge` retriever kind with [`register`].

mod config;
mod export;
mod filter;
mod retriever;
mod store;

pub use config::EdgeRetrieverConfig;
pub use export::ExportPage;
pub use filter::to_qdrant;
pub use retriever::EdgeRetriever;
pub use store::{EdgeStore, EdgeStoreOptions};
// The layout this store shares with the Qdrant server plugin, re-exported so users of the
// embedded store need one import.
pub use ragweave_qdrant_layout::{
    DEFAULT_BM25_AVG_LEN, DENSE_VECTOR, DenseSpec, HybridFusion, SPARSE_VECTOR, SearchMode,
};

/// Adds the `qdrant_edge` retriever kind to `registry`.
pub fn register(registry: &mut ragweave_core::config::Registry) {
    registry.register::<EdgeRetrieverConfig>();
}
