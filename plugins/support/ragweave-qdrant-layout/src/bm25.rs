//! The BM25 document weighting every ragweave Qdrant store writes and queries with.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

use ragweave_core::{Error, Result};
use rust_stemmers::{Algorithm, Stemmer};

/// Okapi BM25's term-frequency saturation, Qdrant's default.
const K1: f64 = 1.2;
/// Okapi BM25's length normalisation, Qdrant's default.
const B: f64 = 0.75;

/// BM25 term weights of a text as Qdrant computes them for English: words split at every
/// character that is not alphanumeric, lowercased, stopwords dropped, Snowball-stemmed, term
/// ids hashed from the stems (MurmurHash3, as `|i32|`), weights saturating in term frequency
/// and normalised by the average chunk length. The IDF half of BM25 is left to the engine (a
/// sparse vector with the `idf` modifier), so the same weights give the same scores in Qdrant
/// Edge and on a Qdrant server.
pub struct Bm25Encoder {
    stemmer: Stemmer,
    stopwords: HashSet<&'static str>,
    avg_len: f32,
}

impl std::fmt::Debug for Bm25Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bm25Encoder")
            .field("avg_len", &self.avg_len)
            .finish()
    }
}

/// A sparse vector: term ids and their weights, in matching order (ids ascending).
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
                "bm25_avg_len",
                format!("must be a positive number of tokens, not {avg_len}"),
            ));
        }
        Ok(Self {
            stemmer: Stemmer::create(Algorithm::English),
            stopwords: stop_words::get("en").iter().copied().collect(),
            avg_len,
        })
    }

    /// The average chunk length this encoder normalises by.
    pub fn avg_len(&self) -> f32 {
        self.avg_len
    }

    /// The stems of `text` that count, in order.
    pub fn tokens<'a>(&'a self, text: &'a str) -> impl Iterator<Item = Cow<'a, str>> + 'a {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .filter(|w| !self.stopwords.contains(w.as_str()))
            .map(|w| Cow::Owned(self.stemmer.stem_cow(Cow::Owned(w)).into_owned()))
    }

    /// The weights of `text`. Queries are weighted like documents too: a word the query
    /// repeats counts more, saturating as in Okapi BM25's query-term weighting (Qdrant's
    /// query embedding weighs every distinct word 1, which costs long queries dearly:
    /// ArguAna's arguments, nDCG@10 0.42 -> 0.46). A text of stopwords only has no terms.
    pub fn encode(&self, text: &str) -> SparseTerms {
        let mut counts: HashMap<Cow<'_, str>, u32> = HashMap::new();
        let mut len = 0usize;
        for token in self.tokens(text) {
            *counts.entry(token).or_default() += 1;
            len += 1;
        }
        let norm = 1.0 - B + B * len as f64 / f64::from(self.avg_len);
        let weights: BTreeMap<u32, f32> = counts
            .iter()
            .map(|(token, n)| {
                let n = f64::from(*n);
                let tf = n * (K1 + 1.0) / K1.mul_add(norm, n);
                (term_id(token), tf as f32)
            })
            .collect();
        let (indices, values) = weights.into_iter().unzip();
        SparseTerms { indices, values }
    }
}

/// A stem's id: MurmurHash3 (32-bit, seed 0) as a non-negative `i32`, Qdrant's BM25 ids.
pub fn term_id(token: &str) -> u32 {
    (murmur3_32::Murmur3::hash(0, token.as_bytes()) as i32).unsigned_abs()
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

    #[test]
    fn weights_follow_okapi_saturation() {
        // Five tokens, "cat" twice, an average of five: tf = 2 * 2.2 / (1.2 * 1 + 2).
        let bm25 = Bm25Encoder::new(5.0).unwrap();
        let v = bm25.encode("cat dog cat bird fish");
        let i = v.indices.iter().position(|&t| t == term_id("cat")).unwrap();
        assert!((v.values[i] - 1.375).abs() < 1e-6, "{}", v.values[i]);
        assert!(v.indices.windows(2).all(|w| w[0] < w[1]));
    }
}
