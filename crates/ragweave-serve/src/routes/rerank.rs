//! `POST /v1/rerank`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use ragweave_core::{Chunk, Hit, Query};

use crate::api::{RerankDocument, RerankReply, RerankRequest, RerankResult};
use crate::error::{ApiError, JsonBody};
use crate::state::AppState;

/// Most passages in one request.
const MAX_DOCUMENTS: usize = 1000;

pub(crate) async fn rerank(
    State(state): State<Arc<AppState>>,
    JsonBody(request): JsonBody<RerankRequest>,
) -> Result<Json<RerankReply>, ApiError> {
    let reranker = state
        .served
        .reranker(&request.model)
        .ok_or_else(|| state.unknown_model(&request.model))?;
    if request.query.trim().is_empty() {
        return Err(ApiError::invalid("query", "is blank"));
    }
    if request.documents.len() > MAX_DOCUMENTS {
        return Err(ApiError::invalid(
            "documents",
            format!(
                "holds {} passages; at most {MAX_DOCUMENTS}",
                request.documents.len()
            ),
        ));
    }
    let hits: Vec<Hit> = request
        .documents
        .iter()
        .enumerate()
        .map(|(i, text)| {
            Hit::new(
                Chunk::new(i.to_string(), i.to_string(), text),
                0.0,
                "request",
            )
        })
        .collect();
    let ranked = reranker.rerank(&Query::new(request.query), hits).await?;
    let keep = request.top_n.unwrap_or(ranked.len());
    let mut results = Vec::with_capacity(keep.min(ranked.len()));
    for h in ranked.into_iter().take(keep) {
        // The ids are the positions given above; a reranker that invents hits is a bug.
        let index = h
            .chunk
            .id
            .parse::<usize>()
            .ok()
            .filter(|i| *i < request.documents.len())
            .ok_or_else(|| {
                ragweave_core::Error::component("reranker", "returned a passage it was not given")
            })?;
        results.push(RerankResult {
            index,
            relevance_score: h.score,
            document: request.return_documents.then(|| RerankDocument {
                text: request.documents[index].clone(),
            }),
        });
    }
    Ok(Json(RerankReply {
        model: request.model,
        results,
    }))
}
