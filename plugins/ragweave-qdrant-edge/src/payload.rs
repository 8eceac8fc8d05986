//! How a chunk is laid out as a point's payload.

use qdrant_edge::external::serde_json::{Map, Value, json};
use ragweave_core::{Chunk, Error, Result};

/// Payload key of the document id (keyword-indexed).
pub(crate) const DOC_ID: &str = "doc_id";
/// Payload key under which chunk metadata lives, so metadata keys never clash with ours.
pub(crate) const META: &str = "meta";

pub(crate) fn payload_for(chunk: &Chunk) -> Value {
    json!({
        "chunk_id": chunk.id,
        DOC_ID: chunk.document_id,
        "text": chunk.text,
        META: chunk.metadata,
    })
}

pub(crate) fn chunk_from_payload(payload: Option<&Map<String, Value>>) -> Result<Chunk> {
    let bad = |what: &str| Error::component("qdrant-edge", format!("stored point has no {what}"));
    let p = payload.ok_or_else(|| bad("payload"))?;
    let text_of = |key: &str| p.get(key).and_then(Value::as_str).ok_or_else(|| bad(key));
    Ok(Chunk {
        id: text_of("chunk_id")?.to_string(),
        document_id: text_of(DOC_ID)?.to_string(),
        text: text_of("text")?.to_string(),
        metadata: p
            .get(META)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
    })
}
