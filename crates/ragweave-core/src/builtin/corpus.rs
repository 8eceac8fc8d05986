//! Reading BEIR-style JSONL corpora.

use serde::Deserialize;

use crate::error::{Error, Result, read_file};
use crate::types::Chunk;

#[derive(Deserialize)]
struct CorpusLine {
    #[serde(alias = "_id")]
    id: String,
    #[serde(default)]
    title: String,
    text: String,
}

/// Reads a BEIR-style JSONL corpus (`_id` or `id`, optional `title`, `text`) into one chunk
/// per document, title and text joined by a newline. A malformed line is an error naming
/// `file:line`; blank lines are skipped.
pub fn read_jsonl_corpus(path: &std::path::Path, limit: Option<usize>) -> Result<Vec<Chunk>> {
    let text = read_file(path)?;
    let mut chunks = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if limit.is_some_and(|l| chunks.len() >= l) {
            break;
        }
        if line.trim().is_empty() {
            continue;
        }
        let doc: CorpusLine = serde_json::from_str(line)
            .map_err(|e| Error::invalid(format!("{}:{}", path.display(), i + 1), e.to_string()))?;
        let body = if doc.title.is_empty() {
            doc.text
        } else {
            format!("{}\n{}", doc.title, doc.text)
        };
        chunks.push(Chunk::new(doc.id.clone(), doc.id, body));
    }
    Ok(chunks)
}
