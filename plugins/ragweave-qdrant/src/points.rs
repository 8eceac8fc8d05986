//! Chunks as gRPC points and back.

use std::collections::HashMap;

use qdrant_client::Payload;
use qdrant_client::qdrant::{PointId, PointStruct, RetrievedPoint, ScoredPoint, Vector};
use ragweave_core::{Chunk, EmbeddedChunk, Hit, Result};
use ragweave_qdrant_layout::{
    Bm25Encoder, DENSE_VECTOR, SPARSE_VECTOR, chunk_from_payload, chunk_payload, point_uuid,
};

/// The gRPC point id of a chunk: the same UUID the embedded store gives it.
pub(crate) fn point_id(chunk_id: &str) -> PointId {
    PointId::from(point_uuid(chunk_id))
}

pub(crate) fn point(c: EmbeddedChunk, bm25: &Bm25Encoder) -> PointStruct {
    let terms = bm25.encode(&c.chunk.text);
    let mut vectors = HashMap::from([(
        SPARSE_VECTOR.to_string(),
        Vector::new_sparse(terms.indices, terms.values),
    )]);
    if let Some(v) = c.vector {
        vectors.insert(DENSE_VECTOR.to_string(), Vector::new_dense(v));
    }
    let payload = match chunk_payload(&c.chunk) {
        serde_json::Value::Object(map) => Payload::from(map),
        _ => unreachable!("a chunk payload is an object"),
    };
    PointStruct::new(point_id(&c.chunk.id), vectors, payload)
}

/// The last copy of each id, in the order of those last copies: as if applied one by one.
pub(crate) fn last_copies(chunks: Vec<EmbeddedChunk>) -> Vec<EmbeddedChunk> {
    let mut last: HashMap<String, usize> = HashMap::with_capacity(chunks.len());
    for (i, c) in chunks.iter().enumerate() {
        last.insert(c.chunk.id.clone(), i);
    }
    chunks
        .into_iter()
        .enumerate()
        .filter(|(i, c)| last[&c.chunk.id] == *i)
        .map(|(_, c)| c)
        .collect()
}

fn chunk_of(payload: HashMap<String, qdrant_client::qdrant::Value>) -> Result<Chunk> {
    let map: serde_json::Map<String, serde_json::Value> = Payload::from(payload).into();
    chunk_from_payload(Some(&map))
}

pub(crate) fn hits(points: Vec<ScoredPoint>, name: &str) -> Result<Vec<Hit>> {
    points
        .into_iter()
        .map(|p| Ok(Hit::new(chunk_of(p.payload)?, p.score, name)))
        .collect()
}

pub(crate) fn chunks(points: Vec<RetrievedPoint>) -> Result<Vec<Chunk>> {
    points.into_iter().map(|p| chunk_of(p.payload)).collect()
}

/// Scrolled points as chunks with their dense vectors (when they were asked for).
pub(crate) fn exported(points: Vec<RetrievedPoint>) -> Result<Vec<EmbeddedChunk>> {
    use qdrant_client::qdrant::vector_output::Vector as Kind;
    use qdrant_client::qdrant::vectors_output::VectorsOptions;
    points
        .into_iter()
        .map(|p| {
            let vector = match p.vectors.and_then(|v| v.vectors_options) {
                Some(VectorsOptions::Vectors(mut named)) => named
                    .vectors
                    .remove(DENSE_VECTOR)
                    .and_then(|v| match v.vector {
                        Some(Kind::Dense(d)) => Some(d.data),
                        _ => None,
                    }),
                _ => None,
            };
            Ok(EmbeddedChunk {
                chunk: chunk_of(p.payload)?,
                vector,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_copy_of_an_id_wins() {
        let c = |id: &str, text: &str| EmbeddedChunk {
            chunk: Chunk::new(id, "d", text),
            vector: None,
        };
        let kept = last_copies(vec![c("a", "1"), c("b", "2"), c("a", "3")]);
        let texts: Vec<_> = kept.iter().map(|c| c.chunk.text.as_str()).collect();
        assert_eq!(texts, ["2", "3"]);
    }

    #[test]
    fn points_carry_bm25_dense_and_the_chunk() {
        let bm25 = Bm25Encoder::new(256.0).unwrap();
        let c = EmbeddedChunk {
            chunk: Chunk::new("c1", "d", "rivers carry sediment").with_meta("topic", "geo"),
            vector: Some(vec![0.5, 0.5]),
        };
        let p = point(c, &bm25);
        assert_eq!(p.id, Some(point_id("c1")));
        let names: Vec<_> = {
            let Some(qdrant_client::qdrant::vectors::VectorsOptions::Vectors(named)) =
                p.vectors.as_ref().and_then(|v| v.vectors_options.clone())
            else {
                panic!("named vectors")
            };
            let mut n: Vec<_> = named.vectors.into_keys().collect();
            n.sort();
            n
        };
        assert_eq!(names, ["bm25", "dense"]);
        assert_eq!(chunk_of(p.payload).unwrap().metadata["topic"], "geo");
    }
}
