//! Documents, chunks and hits: the data that flows between components.

use serde::{Deserialize, Serialize};

/// Free-form metadata attached to documents and chunks (source path, title, page, ...).
pub type Metadata = serde_json::Map<String, serde_json::Value>;

/// A source document before chunking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// Stable id, e.g. a path or a dataset id.
    pub id: String,
    /// The full text.
    pub text: String,
    /// Metadata copied onto every chunk of this document.
    #[serde(default)]
    pub metadata: Metadata,
}

impl Document {
    /// A document with no metadata.
    pub fn new(id: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            text: text.into(),
            metadata: Metadata::new(),
        }
    }
}

/// A retrievable piece of a document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chunk {
    /// Unique id of this chunk (content hashes make re-ingestion idempotent).
    pub id: String,
    /// The document this chunk was cut from.
    pub document_id: String,
    /// The chunk's text.
    pub text: String,
    /// Metadata, usually the document's plus the chunk's position.
    #[serde(default)]
    pub metadata: Metadata,
}

impl Chunk {
    /// A chunk with no metadata.
    pub fn new(
        id: impl Into<String>,
        document_id: impl Into<String>,
        text: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            document_id: document_id.into(),
            text: text.into(),
            metadata: Metadata::new(),
        }
    }

    /// Adds one metadata entry.
    pub fn with_meta(
        mut self,
        key: impl Into<String>,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }
}

/// A chunk together with its dense vector, as ingestion writes it into a store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddedChunk {
    /// The chunk.
    pub chunk: Chunk,
    /// Its dense embedding; `None` for stores that only index text (BM25).
    pub vector: Option<Vec<f32>>,
}

/// One retrieved chunk with its score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// The chunk that matched.
    pub chunk: Chunk,
    /// Higher is better; scales differ between retrievers, which is why fusion uses ranks.
    pub score: f32,
    /// The retriever (expert) that produced it; fused hits name every contributor, best
    /// first, joined by `+`.
    pub retriever: String,
}

impl Hit {
    /// A hit from the named retriever.
    pub fn new(chunk: Chunk, score: f32, retriever: impl Into<String>) -> Self {
        Self {
            chunk,
            score,
            retriever: retriever.into(),
        }
    }
}

/// Sorts hits best first, equal scores by chunk id: for engines that return ties in no
/// fixed order (Qdrant's fusion), so the same query gives the same list, and the same prompt,
/// every time. NaN scores sort last.
pub fn sort_hits_by_id_on_ties(hits: &mut [Hit]) {
    hits.sort_by(|a, b| match (a.score.is_nan(), b.score.is_nan()) {
        (false, false) => b
            .score
            .total_cmp(&a.score)
            .then_with(|| a.chunk.id.cmp(&b.chunk.id)),
        (a_nan, b_nan) => a_nan.cmp(&b_nan),
    });
}

/// Sorts hits best first; NaN scores sort last, ties keep their order.
pub fn sort_hits(hits: &mut [Hit]) {
    hits.sort_by(|a, b| match (a.score.is_nan(), b.score.is_nan()) {
        (false, false) => b.score.total_cmp(&a.score),
        (a_nan, b_nan) => a_nan.cmp(&b_nan),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_puts_best_first_and_nan_last() {
        let mk = |id: &str, s: f32| Hit::new(Chunk::new(id, "d", "t"), s, "r");
        let mut hits = vec![mk("a", 0.1), mk("n", f32::NAN), mk("b", 0.9), mk("c", 0.5)];
        sort_hits(&mut hits);
        let ids: Vec<_> = hits.iter().map(|h| h.chunk.id.as_str()).collect();
        assert_eq!(ids, ["b", "c", "a", "n"]);
    }

    #[test]
    fn ties_break_by_chunk_id_whatever_the_input_order() {
        let hit = |id: &str, score: f32| Hit::new(Chunk::new(id, "d", "t"), score, "r");
        let mut one = vec![
            hit("z", 0.5),
            hit("a", f32::NAN),
            hit("m", 0.5),
            hit("b", 0.9),
        ];
        let mut two = vec![
            hit("m", 0.5),
            hit("b", 0.9),
            hit("a", f32::NAN),
            hit("z", 0.5),
        ];
        sort_hits_by_id_on_ties(&mut one);
        sort_hits_by_id_on_ties(&mut two);
        let ids = |h: &[Hit]| h.iter().map(|h| h.chunk.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&one), ["b", "m", "z", "a"]);
        assert_eq!(ids(&one), ids(&two));
    }
}
