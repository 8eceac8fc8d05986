//! An in-memory BM25 index: sparse lexical retrieval with no dependency.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::query::Query;
use crate::traits::chunk_store::{ChunkStore, ExportPage, SearchMode, StoreSearch};
use crate::traits::retriever::{Retriever, best_per_document};
use crate::types::{Chunk, EmbeddedChunk, Hit, sort_hits};

/// BM25 parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Bm25Params {
    /// Term-frequency saturation (Lucene and Elasticsearch use 1.2).
    pub k1: f32,
    /// Length normalisation, 0 (none) to 1 (full).
    pub b: f32,
}

impl Default for Bm25Params {
    fn default() -> Self {
        Self { k1: 1.2, b: 0.75 }
    }
}

/// A page of `chunks` in chunk-id order from the id `from` on, with each chunk's vector from
/// `vector`; what the in-memory stores export.
pub(crate) fn export_page(
    mut chunks: Vec<&Chunk>,
    from: Option<&str>,
    limit: usize,
    vector: impl Fn(&Chunk) -> Option<Vec<f32>>,
) -> ExportPage {
    chunks.sort_by(|a, b| a.id.cmp(&b.id));
    let start = from.map_or(0, |f| chunks.partition_point(|c| c.id.as_str() < f));
    let page: Vec<&Chunk> = chunks[start..].iter().take(limit.max(1)).copied().collect();
    let next = chunks.get(start + page.len()).map(|c| c.id.clone());
    ExportPage {
        chunks: page
            .into_iter()
            .map(|c| EmbeddedChunk {
                vector: vector(c),
                chunk: c.clone(),
            })
            .collect(),
        next,
    }
}

/// Words too common to carry meaning; dropping them is what BEIR's BM25 baselines do.
const STOPWORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "did",
    "do",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "few",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "me",
    "more",
    "most",
    "my",
    "myself",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "on",
    "once",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "same",
    "she",
    "should",
    "so",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "very",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
];

/// Lower-cased alphanumeric words, stopwords removed.
pub fn bm25_tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| STOPWORDS.binary_search(&w.as_str()).is_err())
}

/// A BM25 index over chunk text, searched exhaustively with Lucene's idf
/// `ln(1 + (N - df + 0.5) / (df + 0.5))`.
///
/// It is also a [`ChunkStore`] (vectors, if given, are ignored), so ingestion can write to it.
#[derive(Debug, Default)]
pub struct Bm25Index {
    params: Bm25Params,
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Slot per chunk; `None` once deleted or replaced.
    docs: Vec<Option<Doc>>,
    by_id: HashMap<String, usize>,
    terms: HashMap<String, u32>,
    /// Per term: (slot, term frequency); dead slots are skipped and compacted away.
    postings: Vec<Vec<(u32, u32)>>,
    /// Live documents containing each term.
    df: Vec<u32>,
    live: usize,
    total_len: u64,
}

#[derive(Debug)]
struct Doc {
    chunk: Chunk,
    len: u32,
    terms: Vec<u32>,
}

impl Bm25Index {
    /// An empty index.
    pub fn new(params: Bm25Params) -> Self {
        Self {
            params,
            inner: RwLock::default(),
        }
    }

    /// Indexes chunks (replacing any with the same id).
    pub fn insert(&self, chunks: Vec<Chunk>) -> Result<()> {
        if let Some(i) = chunks.iter().position(|c| c.id.is_empty()) {
            return Err(Error::invalid(
                format!("chunks[{i}].id"),
                "chunk id is empty",
            ));
        }
        let mut inner = self.inner.write().expect("bm25 lock");
        for chunk in chunks {
            inner.remove(&chunk.id);
            inner.add(chunk);
        }
        inner.compact_if_sparse();
        Ok(())
    }

    /// The best `top_k` chunks for `query`, only of `documents` when given.
    pub(crate) fn search(
        &self,
        query: &Query,
        top_k: usize,
        documents: Option<&HashSet<&str>>,
    ) -> Vec<Hit> {
        let inner = self.inner.read().expect("bm25 lock");
        if inner.live == 0 {
            return Vec::new();
        }
        let n = inner.live as f32;
        let avg_len = inner.total_len as f32 / n;
        let Bm25Params { k1, b } = self.params;
        let mut scores = vec![0.0f32; inner.docs.len()];
        for token in bm25_tokens(&query.sparse_text()) {
            let Some(&t) = inner.terms.get(&token) else {
                continue;
            };
            let df = inner.df[t as usize] as f32;
            if df == 0.0 {
                continue;
            }
            let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
            for &(slot, tf) in &inner.postings[t as usize] {
                let Some(doc) = &inner.docs[slot as usize] else {
                    continue;
                };
                let tf = tf as f32;
                let norm = k1 * (1.0 - b + b * doc.len as f32 / avg_len);
                scores[slot as usize] += idf * tf * (k1 + 1.0) / (tf + norm);
            }
        }
        let mut candidates: Vec<(usize, f32)> = scores
            .into_iter()
            .enumerate()
            .filter(|(slot, s)| {
                *s > 0.0
                    && inner.docs[*slot].as_ref().is_some_and(|d| {
                        query
                            .filter
                            .as_ref()
                            .is_none_or(|f| f.matches(&d.chunk.metadata))
                            && documents.is_none_or(|ds| ds.contains(d.chunk.document_id.as_str()))
                    })
            })
            .collect();
        let k = top_k.min(candidates.len());
        if k < candidates.len() {
            candidates.select_nth_unstable_by(k, |a, b| b.1.total_cmp(&a.1));
            candidates.truncate(k);
        }
        let mut hits: Vec<Hit> = candidates
            .into_iter()
            .filter_map(|(slot, s)| {
                let doc = inner.docs[slot].as_ref()?;
                Some(Hit::new(doc.chunk.clone(), s, "bm25"))
            })
            .collect();
        sort_hits(&mut hits);
        hits
    }
}

impl Inner {
    fn add(&mut self, chunk: Chunk) {
        let mut tf: HashMap<u32, u32> = HashMap::new();
        let mut len = 0u32;
        for token in bm25_tokens(&chunk.text) {
            let next = self.terms.len() as u32;
            let t = *self.terms.entry(token).or_insert(next);
            if t as usize == self.postings.len() {
                self.postings.push(Vec::new());
                self.df.push(0);
            }
            *tf.entry(t).or_default() += 1;
            len += 1;
        }
        let slot = self.docs.len() as u32;
        let mut terms = Vec::with_capacity(tf.len());
        for (t, count) in tf {
            self.postings[t as usize].push((slot, count));
            self.df[t as usize] += 1;
            terms.push(t);
        }
        self.by_id.insert(chunk.id.clone(), slot as usize);
        self.docs.push(Some(Doc { chunk, len, terms }));
        self.live += 1;
        self.total_len += u64::from(len);
    }

    fn remove(&mut self, id: &str) -> Option<Chunk> {
        let slot = self.by_id.remove(id)?;
        let doc = self.docs[slot].take()?;
        for t in &doc.terms {
            self.df[*t as usize] -= 1;
        }
        self.live -= 1;
        self.total_len -= u64::from(doc.len);
        Some(doc.chunk)
    }

    /// Rebuilds postings once dead slots outnumber live ones, so deletes do not leak.
    fn compact_if_sparse(&mut self) {
        let dead = self.docs.len() - self.live;
        if dead <= self.live.max(64) {
            return;
        }
        let docs: Vec<Chunk> = std::mem::take(&mut self.docs)
            .into_iter()
            .flatten()
            .map(|d| d.chunk)
            .collect();
        *self = Inner::default();
        for chunk in docs {
            self.add(chunk);
        }
    }
}

#[async_trait]
impl Retriever for Bm25Index {
    fn name(&self) -> &str {
        "bm25"
    }

    async fn retrieve(&self, query: &Query) -> Result<Vec<Hit>> {
        query.validate()?;
        Ok(self.search(query, query.top_k, None))
    }

    async fn score_documents(
        &self,
        query: &Query,
        documents: &[String],
    ) -> Result<Option<Vec<Hit>>> {
        query.validate()?;
        let wanted = documents.iter().map(String::as_str).collect();
        let hits = self.search(query, usize::MAX, Some(&wanted));
        Ok(Some(best_per_document(hits, documents)))
    }
}

#[async_trait]
impl ChunkStore for Bm25Index {
    fn name(&self) -> &str {
        "bm25"
    }

    fn retriever(self: Arc<Self>, search: &StoreSearch) -> Result<Arc<dyn Retriever>> {
        match search.resolve(self.as_ref())? {
            SearchMode::Sparse => Ok(self),
            mode => Err(Error::config(
                "mode",
                format!("a BM25 index has no dense vectors for {mode:?} search"),
            )),
        }
    }

    async fn export(&self, from: Option<&str>, limit: usize) -> Result<ExportPage> {
        let inner = self.inner.read().expect("bm25 lock");
        let chunks: Vec<&Chunk> = inner.docs.iter().flatten().map(|d| &d.chunk).collect();
        Ok(export_page(chunks, from, limit, |_| None))
    }

    async fn upsert(&self, chunks: Vec<EmbeddedChunk>) -> Result<()> {
        self.insert(chunks.into_iter().map(|c| c.chunk).collect())
    }

    async fn delete_document(&self, document_id: &str) -> Result<usize> {
        let mut inner = self.inner.write().expect("bm25 lock");
        let ids: Vec<String> = inner
            .docs
            .iter()
            .flatten()
            .filter(|d| d.chunk.document_id == document_id)
            .map(|d| d.chunk.id.clone())
            .collect();
        for id in &ids {
            inner.remove(id);
        }
        inner.compact_if_sparse();
        Ok(ids.len())
    }

    async fn delete_chunks(&self, chunk_ids: &[String]) -> Result<usize> {
        let mut inner = self.inner.write().expect("bm25 lock");
        let removed = chunk_ids
            .iter()
            .filter(|id| inner.remove(id).is_some())
            .count();
        inner.compact_if_sparse();
        Ok(removed)
    }

    async fn document_chunk_ids(&self, document_id: &str) -> Result<Vec<String>> {
        let inner = self.inner.read().expect("bm25 lock");
        Ok(inner
            .docs
            .iter()
            .flatten()
            .filter(|d| d.chunk.document_id == document_id)
            .map(|d| d.chunk.id.clone())
            .collect())
    }

    async fn document_ids(&self) -> Result<Vec<String>> {
        let inner = self.inner.read().expect("bm25 lock");
        let ids: std::collections::BTreeSet<&str> = inner
            .docs
            .iter()
            .flatten()
            .map(|d| d.chunk.document_id.as_str())
            .collect();
        Ok(ids.into_iter().map(str::to_string).collect())
    }

    async fn count(&self) -> Result<usize> {
        Ok(self.inner.read().expect("bm25 lock").live)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopwords_are_sorted_for_binary_search() {
        assert!(STOPWORDS.windows(2).all(|w| w[0] < w[1]));
        let t: Vec<String> = bm25_tokens("The Cat, and THE dog!").collect();
        assert_eq!(t, ["cat", "dog"]);
    }

    #[tokio::test]
    async fn scores_follow_the_formula() {
        let idx = Bm25Index::new(Bm25Params::default());
        idx.insert(vec![
            Chunk::new("a", "a", "apple apple banana"),
            Chunk::new("b", "b", "banana cherry"),
            Chunk::new("c", "c", "cherry date elderberry fig"),
        ])
        .unwrap();
        let hits = idx.retrieve(&Query::new("apple")).await.unwrap();
        assert_eq!(hits.len(), 1);
        // N = 3, df = 1, tf = 2, len 3, avg len 3: idf * 2 * 2.2 / (2 + 1.2).
        let idf = (1.0f32 + (3.0 - 1.0 + 0.5) / 1.5).ln();
        assert!(
            (hits[0].score - idf * 2.0 * 2.2 / 3.2).abs() < 1e-5,
            "{}",
            hits[0].score
        );
        let hits = idx.retrieve(&Query::new("banana cherry")).await.unwrap();
        assert_eq!(hits[0].chunk.id, "b", "matches both terms");
    }

    #[tokio::test]
    async fn replacing_and_deleting_update_statistics() {
        let idx = Bm25Index::new(Bm25Params::default());
        idx.insert(vec![
            Chunk::new("a", "d1", "apple"),
            Chunk::new("b", "d2", "apple pie"),
        ])
        .unwrap();
        idx.insert(vec![Chunk::new("a", "d1", "pear")]).unwrap();
        assert_eq!(idx.count().await.unwrap(), 2);
        let hits = idx.retrieve(&Query::new("apple")).await.unwrap();
        assert_eq!(hits.len(), 1, "the replaced text no longer matches");
        assert_eq!(idx.delete_document("d2").await.unwrap(), 1);
        assert!(idx.retrieve(&Query::new("apple")).await.unwrap().is_empty());
        for i in 0..300 {
            idx.insert(vec![Chunk::new("x", "d", format!("churn {i}"))])
                .unwrap();
        }
        let inner = idx.inner.read().unwrap();
        assert!(
            inner.docs.len() < 200,
            "dead slots are compacted: {}",
            inner.docs.len()
        );
    }
}
