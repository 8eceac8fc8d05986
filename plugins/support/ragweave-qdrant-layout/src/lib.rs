//! # ragweave-qdrant-layout
//!
//! Plugin support, not a plugin: what ragweave's two Qdrant plugins share, the embedded store
//! (`ragweave-qdrant-edge`) and a server collection (`ragweave-qdrant`), so that a chunk is
//! the same point in both and scores the same, and a store copies from one to the other:
//!
//! - the vectors: [`SPARSE_VECTOR`] (BM25 term weights from [`Bm25Encoder`], IDF left to
//!   the engine) and [`DENSE_VECTOR`] (cosine);
//! - point ids from chunk ids ([`point_uuid`]);
//! - the payload: [`chunk_payload`] / [`chunk_from_payload`], metadata under [`META`],
//!   paths into it by [`payload_key`];
//! - how a retriever searches ([`Searching`]).
//!
//! Plugins depend on ragweave-core and never on each other; this crate is how the two
//! Qdrant plugins agree without doing so. It does not depend on the Qdrant engine, so the
//! server plugin does not compile the embedded one.

mod bm25;
mod ids;
mod payload;
mod search;

pub use bm25::{Bm25Encoder, SparseTerms, term_id};
pub use ids::{point_id, point_uuid};
pub use payload::{DOC_ID, META, chunk_from_payload, chunk_payload, payload_key};
pub use search::Searching;

/// Name of the BM25 sparse vector in a collection.
pub const SPARSE_VECTOR: &str = "bm25";
/// Name of the dense vector in a collection.
pub const DENSE_VECTOR: &str = "dense";
/// Qdrant's default expected chunk length for BM25.
pub const DEFAULT_BM25_AVG_LEN: f32 = 256.0;
