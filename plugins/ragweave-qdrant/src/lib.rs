//! # ragweave-qdrant
//!
//! ragweave on a [Qdrant](https://qdrant.tech) server or cluster, over gRPC with
//! [`qdrant-client`](https://docs.rs/qdrant-client) (pinned to 1.18, the server version
//! this plugin is written against). The same contract as the embedded store
//! (`ragweave-qdrant-edge`), through the layout both share ([`ragweave_qdrant_layout`]): a collection holds, per chunk, a BM25 sparse vector (the
//! embedded store's own weighting, IDF left to the server), an optional dense cosine vector
//! and the chunk as payload, so a pipeline moves between the two by its retriever `kind`.
//!
//! - [`QdrantStore`] implements [`ragweave_core::ChunkStore`]: batched upserts retried with
//!   backoff on transient failures (unavailable, deadline exceeded, resource exhausted),
//!   never on permanent ones; point ids from the chunks' content-hash ids, so a retried or
//!   resumed batch never duplicates anything.
//! - [`QdrantRetriever`] implements [`ragweave_core::Retriever`]: BM25, dense, or hybrid
//!   fused on the server (two prefetches and RRF in one query).
//! - Errors say what went wrong and where ([`QdrantError`]): the URL of a server that does
//!   not answer, both sizes of a vector-size mismatch, the collection that is not there, a
//!   refused API key.
//!
//! Register the `qdrant` store kind with [`register`]; experts search it with the core
//! `store` retriever kind. This crate does not compile the embedded engine.

mod collection;
mod config;
mod error;
mod filter;
mod options;
mod points;
mod retriever;
mod retry;
mod store;

pub use config::QdrantStoreConfig;
pub use error::QdrantError;
pub use filter::to_qdrant_filter;
pub use options::{ClusterOptions, IndexedField, IndexedFieldType, QdrantOptions};
pub use ragweave_core::{DenseSpec, HybridFusion, SearchMode, StoreSearch};
pub use retriever::QdrantRetriever;
pub use retry::RetryPolicy;
pub use store::QdrantStore;

/// Adds the `qdrant` store kind to `registry`.
pub fn register(registry: &mut ragweave_core::config::Registry) {
    registry.register::<QdrantStoreConfig>();
}
