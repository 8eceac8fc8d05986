//! Reading a whole store out, page by page, to copy it elsewhere (`ragweave migrate`).

use qdrant_edge::WithPayloadInterface;
use qdrant_edge::external::uuid::Uuid;
use qdrant_edge::{PointId, ScrollRequest, VectorInternal, VectorStructInternal, WithVector};
use ragweave_core::{EmbeddedChunk, Error, Result};

use crate::store::EdgeStore;
use ragweave_qdrant_layout::{DENSE_VECTOR, chunk_from_payload};

/// One page of a store's points in point-id order, as [`EdgeStore::export`] reads them.
#[derive(Debug, Clone)]
pub struct ExportPage {
    /// The chunks with their dense vectors (when the store holds them).
    pub chunks: Vec<EmbeddedChunk>,
    /// Where the next page starts (a point id), `None` after the last page. Stable across
    /// processes, so a copy can record it and resume from it.
    pub next: Option<String>,
}

impl EdgeStore {
    /// Up to `limit` points starting at point id `from` (the `next` of an earlier page;
    /// `None` for the first page). An ill-formed `from` is [`Error::InvalidInput`].
    pub async fn export(&self, from: Option<&str>, limit: usize) -> Result<ExportPage> {
        let offset = match from {
            None => None,
            Some(s) => Some(match (Uuid::parse_str(s), s.parse::<u64>()) {
                (Ok(u), _) => PointId::Uuid(u),
                (_, Ok(n)) => PointId::NumId(n),
                _ => {
                    return Err(Error::invalid(
                        "from",
                        format!("{s:?} is not a point id (a UUID or an unsigned integer)"),
                    ));
                }
            }),
        };
        let with_vector = match self.dense() {
            Some(_) => WithVector::Selector(vec![DENSE_VECTOR.to_string()]),
            None => WithVector::Bool(false),
        };
        self.blocking(move |inner| {
            let (records, next) = inner
                .shard
                .scroll(ScrollRequest {
                    offset,
                    limit: Some(limit.max(1)),
                    filter: None,
                    with_payload: Some(WithPayloadInterface::Bool(true)),
                    with_vector,
                    order_by: None,
                })
                .map_err(|e| Error::component("qdrant-edge", format!("scroll: {e}")))?;
            let chunks = records
                .into_iter()
                .map(|r| {
                    let chunk = chunk_from_payload(r.payload.as_ref().map(|p| &p.0))?;
                    let vector = match r.vector {
                        Some(VectorStructInternal::Named(mut named)) => {
                            match named.remove(DENSE_VECTOR) {
                                Some(VectorInternal::Dense(v)) => Some(v),
                                _ => None,
                            }
                        }
                        _ => None,
                    };
                    Ok(EmbeddedChunk { chunk, vector })
                })
                .collect::<Result<Vec<_>>>()?;
            let next = next.map(|id| match id {
                PointId::Uuid(u) => u.to_string(),
                PointId::NumId(n) => n.to_string(),
            });
            Ok(ExportPage { chunks, next })
        })
        .await
    }
}
