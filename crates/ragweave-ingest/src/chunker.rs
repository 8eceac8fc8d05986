//! Cutting documents into chunks sized in the embedder's tokens, with content-hash ids.

use std::sync::Arc;

use ragweave_core::{ApproxTokenCounter, Chunk, Embedder, Error, Metadata, Result, TokenCounter};
use serde_json::Value;
use sha2::{Digest, Sha256};
use text_splitter::{ChunkConfig, ChunkSizer, MarkdownSplitter, TextSplitter};

use crate::loader::LoadedDocument;

struct Sizer(Arc<dyn TokenCounter>);

/// Most bytes a chunk may hold per token of its size. Whitespace costs no tokens (and the
/// splitter measured chunks trimmed), so a chunk of blank lines grew without bound, and the
/// splitter, which measures every chunk as it grows, took the square of its length: 48 KB
/// of `"  \n"` lines took 110 s to chunk (a fuzzer's find). Text averages 3 to 6 bytes a
/// token.
const MAX_BYTES_PER_TOKEN: usize = 16;

impl ChunkSizer for Sizer {
    fn size(&self, chunk: &str) -> usize {
        self.0
            .count(chunk)
            .max(chunk.len().div_ceil(MAX_BYTES_PER_TOKEN))
    }
}

/// Splits text at semantic boundaries (the `text-splitter` crate: sentences, then words;
/// headings and blocks first for markdown) into chunks of at most `max_tokens` tokens, each
/// overlapping the previous by up to `overlap` tokens.
///
/// ```
/// use ragweave_ingest::Chunker;
/// use ragweave_ingest::loader::LoadedDocument;
/// use ragweave_core::Document;
///
/// let chunker = Chunker::new(8, 2).unwrap();
/// let doc = LoadedDocument {
///     document: Document::new("notes.txt", "One short sentence. Another one follows it. And a third."),
///     markdown: false,
/// };
/// let chunks = chunker.chunk(&doc, "");
/// assert!(chunks.len() > 1);
/// assert!(chunks.iter().all(|c| c.document_id == "notes.txt"));
/// ```
pub struct Chunker {
    text: TextSplitter<Sizer>,
    markdown: MarkdownSplitter<Sizer>,
    max_tokens: usize,
    overlap: usize,
}

impl std::fmt::Debug for Chunker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chunker")
            .field("max_tokens", &self.max_tokens)
            .field("overlap", &self.overlap)
            .finish()
    }
}

impl Chunker {
    /// A chunker counting tokens with [`ApproxTokenCounter`] (about 4 bytes a token).
    pub fn new(max_tokens: usize, overlap: usize) -> Result<Self> {
        Self::with_counter(max_tokens, overlap, Arc::new(ApproxTokenCounter))
    }

    /// A chunker counting tokens with `counter`, normally the embedder's tokenizer
    /// ([`ragweave_core::Embedder::token_counter`]).
    pub fn with_counter(
        max_tokens: usize,
        overlap: usize,
        counter: Arc<dyn TokenCounter>,
    ) -> Result<Self> {
        if max_tokens == 0 {
            return Err(Error::config("chunk.max_tokens", "must be at least 1"));
        }
        let config = |c: Arc<dyn TokenCounter>| {
            // Untrimmed, so whitespace counts against the size (see MAX_BYTES_PER_TOKEN);
            // pieces are trimmed after.
            ChunkConfig::new(max_tokens)
                .with_trim(false)
                .with_overlap(overlap)
                .map(|cfg| cfg.with_sizer(Sizer(c)))
                .map_err(|e| {
                    Error::config(
                        "chunk.overlap",
                        format!("{overlap} does not fit max_tokens {max_tokens}: {e}"),
                    )
                })
        };
        Ok(Self {
            text: TextSplitter::new(config(counter.clone())?),
            markdown: MarkdownSplitter::new(config(counter)?),
            max_tokens,
            overlap,
        })
    }

    /// A chunker for `embedder`'s input: chunks of at most `max_tokens` (or fewer, when the
    /// model reads fewer, with the overlap shrunk in proportion), counted with its tokenizer
    /// when it has one, else estimated.
    pub fn for_embedder(
        embedder: Option<&dyn Embedder>,
        max_tokens: usize,
        overlap: usize,
    ) -> Result<Self> {
        let model_max = embedder
            .and_then(|e| e.max_input_tokens())
            .map_or(max_tokens, |m| m.max(1).min(max_tokens));
        // A model that reads fewer tokens shrinks the overlap with the chunk, so it still fits.
        let overlap = if model_max < max_tokens {
            overlap * model_max / max_tokens.max(1)
        } else {
            overlap
        };
        let max_tokens = model_max;
        match embedder.and_then(|e| e.token_counter()) {
            Some(counter) => Self::with_counter(max_tokens, overlap, counter),
            None => Self::new(max_tokens, overlap),
        }
    }

    /// Chunks one document. Each chunk's id is a UUID made from the SHA-256 of the
    /// document id, the chunk's position and text, the document's metadata (so a new tag
    /// rewrites the chunks that carry it) and `version` (the embedder's model id, so
    /// switching models rewrites every chunk); the same input always gives the same ids.
    /// Chunk metadata is the document's plus `chunk` (the position, from 0).
    pub fn chunk(&self, doc: &LoadedDocument, version: &str) -> Vec<Chunk> {
        let mut chunks = self.pieces(doc, version);
        for chunk in &mut chunks {
            with_document_metadata(chunk, &doc.document.metadata);
        }
        chunks
    }

    /// [`Chunker::chunk`] with only `chunk` in each chunk's metadata: ingestion copies the
    /// document's in when it writes a batch, so a document of many chunks holds its
    /// metadata once, not once per chunk.
    pub(crate) fn pieces(&self, doc: &LoadedDocument, version: &str) -> Vec<Chunk> {
        let text = doc.document.text.as_str();
        let hashed_metadata = canonical_metadata(&doc.document.metadata);
        let pieces: Vec<&str> = stretches(text)
            .flat_map(|stretch| -> Box<dyn Iterator<Item = &str>> {
                if doc.markdown {
                    Box::new(self.markdown.chunks(stretch))
                } else {
                    Box::new(self.text.chunks(stretch))
                }
            })
            .collect();
        pieces
            .into_iter()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .enumerate()
            .map(|(i, piece)| {
                let mut metadata = Metadata::new();
                metadata.insert("chunk".into(), i.into());
                Chunk {
                    id: hashed_id(&doc.document.id, i, piece, &hashed_metadata, version),
                    document_id: doc.document.id.clone(),
                    text: piece.to_string(),
                    metadata,
                }
            })
            .collect()
    }
}

/// Longest stretch of a document the splitter sees at once. Its time grows with the square
/// of a stretch that has no sentence end (320 KB of words took 2.6 s, and 5 MB would take
/// minutes), so a longer document is cut first, at a paragraph break, else a line break,
/// else a space, into stretches of at most this many bytes. Chunks do not overlap across a
/// stretch's end, and a cut may fall inside a markdown code block: a price paid only by
/// documents over 32 KiB.
const MAX_STRETCH_BYTES: usize = 32 << 10;

fn stretches(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut end = rest.len().min(MAX_STRETCH_BYTES);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        if end < rest.len() {
            let window = &rest[..end];
            let cut = window
                .rfind("\n\n")
                .map(|i| i + 2)
                .or_else(|| window.rfind('\n').map(|i| i + 1))
                .or_else(|| window.rfind(' ').map(|i| i + 1));
            end = cut.unwrap_or(end);
        }
        let (stretch, after) = rest.split_at(end);
        rest = after;
        Some(stretch)
    })
}

/// Puts `document`'s metadata before a piece's own (`chunk`, which wins).
pub(crate) fn with_document_metadata(chunk: &mut Chunk, document: &Metadata) {
    let own = std::mem::replace(&mut chunk.metadata, document.clone());
    chunk.metadata.extend(own);
}

/// A UUID-formatted content hash of a chunk's document id, position, text, document
/// metadata and `version`.
pub fn chunk_id(
    document_id: &str,
    position: usize,
    text: &str,
    metadata: &Metadata,
    version: &str,
) -> String {
    hashed_id(
        document_id,
        position,
        text,
        &canonical_metadata(metadata),
        version,
    )
}

fn canonical_metadata(metadata: &Metadata) -> Vec<u8> {
    let mut out = Vec::new();
    canonical_object(metadata, &mut out);
    out
}

fn hashed_id(
    document_id: &str,
    position: usize,
    text: &str,
    metadata: &[u8],
    version: &str,
) -> String {
    let mut h = Sha256::new();
    for part in [
        document_id.as_bytes(),
        text.as_bytes(),
        metadata,
        version.as_bytes(),
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    h.update((position as u64).to_le_bytes());
    let d = h.finalize();
    let hex: String = d[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// `value` as JSON with every object's keys sorted: serde_json keeps insertion order here
/// (a dependency enables `preserve_order`), and equal metadata must hash the same however
/// its keys were ordered. Parsed JSON nests at most 128 deep, which bounds the recursion.
fn canonical_object(map: &Metadata, out: &mut Vec<u8>) {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    out.push(b'{');
    for (i, (key, value)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend(serde_json::to_vec(key).expect("strings serialize"));
        out.push(b':');
        canonical_json(value, out);
    }
    out.push(b'}');
}

fn canonical_json(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => canonical_object(map, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical_json(item, out);
            }
            out.push(b']');
        }
        scalar => out.extend(serde_json::to_vec(scalar).expect("scalars serialize")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ragweave_core::Document;

    fn doc(text: &str, markdown: bool) -> LoadedDocument {
        LoadedDocument {
            document: Document::new("d", text),
            markdown,
        }
    }

    #[test]
    fn chunks_respect_the_token_budget_and_ids_are_stable() {
        let text = "Alpha beta gamma delta. ".repeat(200);
        let c = Chunker::new(32, 8).unwrap();
        let a = c.chunk(&doc(&text, false), "m");
        assert!(a.len() > 10);
        assert!(a.iter().all(|ch| ApproxTokenCounter.count(&ch.text) <= 32));
        let b = c.chunk(&doc(&text, false), "m");
        assert_eq!(a, b);
        let other = c.chunk(&doc(&text, false), "other-model");
        assert!(a.iter().zip(&other).all(|(x, y)| x.id != y.id));
    }

    #[test]
    fn whitespace_counts_against_a_chunk_and_long_texts_are_cut_into_stretches() {
        // Blank lines between words: before, one chunk took them all (sized by its two
        // words), and finding its end took time in the square of its length.
        let text = format!("word{}end ", "   \n".repeat(2_000)).repeat(4);
        let c = Chunker::new(64, 8).unwrap();
        for markdown in [false, true] {
            let chunks = c.chunk(&doc(&text, markdown), "");
            assert!(
                chunks
                    .iter()
                    .all(|ch| ch.text.len() <= 64 * MAX_BYTES_PER_TOKEN),
                "{:?}",
                chunks.iter().map(|ch| ch.text.len()).collect::<Vec<_>>()
            );
            assert!(chunks.iter().all(|ch| ch.text.trim() == ch.text));
        }
        // A text with no sentence end is cut into stretches, each chunked on its own; no
        // word is lost or split (no overlap, so every word is in exactly one chunk).
        let words = "word ".repeat(20_000);
        let chunks = Chunker::new(64, 0).unwrap().chunk(&doc(&words, false), "");
        let total: usize = chunks.iter().map(|ch| ch.text.split(' ').count()).sum();
        assert_eq!(total, 20_000);
        assert!(
            chunks
                .iter()
                .all(|ch| ch.text.split(' ').all(|w| w == "word"))
        );
        let cut: Vec<&str> = stretches(&words).collect();
        assert_eq!(cut.concat(), words);
        assert!(cut.len() > 1 && cut.iter().all(|s| s.len() <= MAX_STRETCH_BYTES));
        assert!(cut.iter().all(|s| s.ends_with(' ')));
        // Nothing to cut at: cut at a character boundary all the same.
        let unbroken = "€".repeat(MAX_STRETCH_BYTES);
        assert_eq!(stretches(&unbroken).collect::<String>(), unbroken);
    }

    #[test]
    fn markdown_splits_at_headings_first() {
        let text = "# One\n\nfirst section text here.\n\n# Two\n\nsecond section text here.";
        let c = Chunker::new(12, 0).unwrap();
        let chunks = c.chunk(&doc(text, true), "");
        assert_eq!(chunks.len(), 2, "{chunks:?}");
        assert!(chunks[1].text.starts_with("# Two"));
        assert_eq!(chunks[1].metadata["chunk"], 1);
    }

    #[test]
    fn overlap_larger_than_the_budget_is_a_config_error() {
        let e = Chunker::new(8, 8).unwrap_err();
        assert!(e.to_string().contains("chunk.overlap"), "{e}");
        assert!(Chunker::new(0, 0).is_err());
    }

    #[test]
    fn chunk_ids_change_with_metadata_but_not_with_its_key_order() {
        let meta = |pairs: &[(&str, &str)]| -> Metadata {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), Value::from(*v)))
                .collect()
        };
        let a = chunk_id("d", 0, "t", &meta(&[("tenant", "a"), ("acl", "x")]), "");
        let reordered = chunk_id("d", 0, "t", &meta(&[("acl", "x"), ("tenant", "a")]), "");
        let retagged = chunk_id("d", 0, "t", &meta(&[("tenant", "b"), ("acl", "x")]), "");
        assert_eq!(a, reordered);
        assert_ne!(a, retagged);
    }

    #[test]
    fn chunk_ids_are_uuids() {
        let id = chunk_id("d", 0, "t", &Metadata::new(), "");
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
    }
}
