//! The BM25 document weighting every ragweave Qdrant store writes and queries with.

use qdrant_edge::SparseVector;
use qdrant_edge::bm25_embed::{EdgeBm25, EdgeBm25Config};
use qdrant_edge::external::serde_json::json;
use ragweave_core::{Error, Result};

/// BM25 term weights of a text: Qdrant's tokenizer (English stemming and stopwords), term
/// ids hashed from the stems, weights saturating in term frequency and normalised by the
/// average chunk length. The IDF half of BM25 is left to the engine (a sparse vector with
/// the `idf` modifier), so the same weights give the same scores in Qdrant Edge and on a
/// Qdrant server.
pub struct Bm25Encoder {
    bm25: EdgeBm25,
    avg_len: f32,
}

impl std::fmt::Debug for Bm25Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bm25Encoder")
            .field("avg_len", &self.avg_len)
            .finish()
    }
}

/// A sparse vector: term ids and their weights, in matching order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SparseTerms {
    /// Term ids (hashes of the stemmed terms), unique.
    pub indices: Vec<u32>,
    /// One weight per id.
    pub values: Vec<f32>,
}

impl Bm25Encoder {
    /// An encoder for chunks of `avg_len` BM25 tokens on average ([`Error::Config`] unless
    /// it is a positive number).
    pub fn new(avg_len: f32) -> Result<Self> {
        if !(avg_len.is_finite() && avg_len > 0.0) {
            return Err(Error::config(
                "store.bm25_avg_len",
                format!("must be a positive number of tokens, not {avg_len}"),
            ));
        }
        // Through serde: the config's number type is the engine's own float wrapper.
        let config: EdgeBm25Config =
            serde_json::from_value(json!({"language": "english", "avg_len": avg_len}))
                .map_err(|e| Error::component("qdrant-edge", format!("BM25 model: {e}")))?;
        let bm25 = EdgeBm25::new(config)
            .map_err(|e| Error::component("qdrant-edge", format!("BM25 model: {e}")))?;
        Ok(Self { bm25, avg_len })
    }

    /// The average chunk length this encoder normalises by.
    pub fn avg_len(&self) -> f32 {
        self.avg_len
    }

    /// The weights of `text`. Queries are weighted like documents too: a word the query
    /// repeats counts more, saturating as in Okapi BM25's query-term weighting (Qdrant's
    /// query embedding weighs every distinct word 1, which costs long queries dearly:
    /// ArguAna's arguments, nDCG@10 0.42 -> 0.46). A text of stopwords only has no terms.
    pub fn encode(&self, text: &str) -> SparseTerms {
        let v = self.bm25.embed_document(text);
        SparseTerms {
            indices: v.indices,
            values: v.values,
        }
    }

    /// [`Bm25Encoder::encode`] as Qdrant Edge's sparse vector type.
    pub fn sparse_vector(&self, text: &str) -> SparseVector {
        self.bm25.embed_document(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_drop_stopwords_and_refuse_bad_lengths() {
        let bm25 = Bm25Encoder::new(10.0).unwrap();
        let a = bm25.encode("the crates");
        assert_eq!(a, bm25.encode("crate"), "stemmed, stopword dropped");
        assert_eq!(a.indices.len(), 1);
        assert!(bm25.encode("the of and").indices.is_empty());
        assert!(Bm25Encoder::new(0.0).is_err());
        assert!(Bm25Encoder::new(f32::NAN).is_err());
    }
}
