//! # ragweave-qdrant-layout
//!
//! What every ragweave store on Qdrant shares, whether the embedded one
//! (`ragweave-qdrant-edge`) or a server collection (`ragweave-qdrant`), so that a chunk is
//! the same point in both and scores the same, and a store copies from one to the other:
//!
//! - the vectors: [`SPARSE_VECTOR`] (BM25 term weights from [`Bm25Encoder`], IDF left to
//!   the engine) and [`DENSE_VECTOR`] (cosine, described by a [`DenseSpec`]);
//! - point ids from chunk ids ([`point_uuid`]);
//! - the payload: [`chunk_payload`] / [`chunk_from_payload`], metadata under [`META`],
//!   paths into it by [`payload_key`];
//! - the searches: [`SearchMode`], [`HybridFusion`], and the dense query vector
//!   ([`dense_query_vector`], [`check_embedder`]).
//!
//! Plugins depend on ragweave-core and never on each other; this crate is how the two
//! Qdrant plugins agree without doing so.

mod bm25;
mod dense_query;
mod ids;
mod modes;
mod payload;

pub use bm25::{Bm25Encoder, SparseTerms};
pub use dense_query::{DenseSpec, check_embedder, dense_query_vector};
pub use ids::{point_id, point_uuid};
pub use modes::{HybridFusion, SearchMode};
pub use payload::{DOC_ID, META, chunk_from_payload, chunk_payload, payload_key};

/// Name of the BM25 sparse vector in a collection.
pub const SPARSE_VECTOR: &str = "bm25";
/// Name of the dense vector in a collection.
pub const DENSE_VECTOR: &str = "dense";
/// Qdrant's default expected chunk length for BM25.
pub const DEFAULT_BM25_AVG_LEN: f32 = 256.0;
