//! How a chunk is laid out as a point's payload.

use ragweave_core::{Chunk, Error, Result};
use serde_json::{Map, Value, json};

/// Payload key of the document id (keyword-indexed).
pub const DOC_ID: &str = "doc_id";
/// Payload key under which chunk metadata lives, so metadata keys never clash with ours.
pub const META: &str = "meta";

/// The payload a chunk is stored as (`chunk_id`, `doc_id`, `text`, and the metadata under
/// `meta`): the layout of every ragweave Qdrant store, embedded or server.
pub fn chunk_payload(chunk: &Chunk) -> Value {
    json!({
        "chunk_id": chunk.id,
        DOC_ID: chunk.document_id,
        "text": chunk.text,
        META: chunk.metadata,
    })
}

/// The chunk a stored payload holds; a component error names the field a point lacks.
pub fn chunk_from_payload(payload: Option<&Map<String, Value>>) -> Result<Chunk> {
    let bad = |what: &str| Error::component("qdrant", format!("stored point has no {what}"));
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

/// The payload path of metadata key `name` (what filters and payload indexes name), or
/// [`Error::InvalidInput`] at `field` for a key Qdrant paths cannot hold.
pub fn payload_key(name: &str, field: &str) -> Result<String> {
    if name.contains(['"', '\\']) {
        return Err(Error::invalid(
            format!("{field}.field"),
            format!("metadata key {name:?} holds a quote or backslash, which Qdrant paths cannot"),
        ));
    }
    // Quoting keeps dots and brackets in metadata keys from being read as a JSON path.
    Ok(format!("{META}.\"{name}\""))
}
