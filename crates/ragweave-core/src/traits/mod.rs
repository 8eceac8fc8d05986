//! The component traits, one per file, each file named after its trait.

pub mod chunk_store;
pub mod context_arranger;
pub mod embedder;
pub mod generator;
pub mod memory;
pub mod query_transform;
pub mod reranker;
pub mod retriever;
pub mod router;
pub mod token_counter;
