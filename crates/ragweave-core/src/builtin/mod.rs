//! Components that need no engine: for tests, examples and small corpora.

pub mod bm25;
pub mod corpus;
pub mod embed_query;
pub mod hashing_embedder;
pub mod memory_store;
