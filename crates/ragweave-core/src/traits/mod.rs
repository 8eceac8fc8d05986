//! The component traits, one per file.

pub mod arranger;
pub mod embedder;
pub mod generator;
pub mod memory;
pub mod query_transform;
pub mod reranker;
pub mod retriever;
pub mod router;
pub mod store;
pub mod token_counter;
