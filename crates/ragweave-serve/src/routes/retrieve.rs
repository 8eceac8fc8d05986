//! `POST /v1/retrieve`: the pipeline's hits, without generating.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use ragweave_core::{AskRequest, DEFAULT_TOP_K, Query};

use crate::api::{HitOut, RetrieveReply, RetrieveRequest, StageOut};
use crate::error::{ApiError, JsonBody};
use crate::state::AppState;

pub(crate) async fn retrieve(
    State(state): State<Arc<AppState>>,
    JsonBody(request): JsonBody<RetrieveRequest>,
) -> Result<Json<RetrieveReply>, ApiError> {
    let top_k = request.top_k.unwrap_or(DEFAULT_TOP_K);
    if top_k == 0 || top_k > state.options.max_top_k {
        return Err(ApiError::invalid(
            "top_k",
            format!("must be 1 to {}, got {top_k}", state.options.max_top_k),
        ));
    }
    if request.query.trim().is_empty() {
        return Err(ApiError::invalid("query", "is blank"));
    }
    let mut query = Query::new(request.query).top_k(top_k);
    query.filter = request.filter;
    let (hits, trace) = state
        .served
        .built
        .pipeline
        .retrieve_traced(AskRequest::from(query))
        .await?;
    let trace = request.trace.then(|| {
        trace
            .stages
            .into_iter()
            .map(|s| StageOut {
                name: s.name,
                ms: s.duration.as_secs_f64() * 1e3,
                notes: s.notes,
            })
            .collect()
    });
    Ok(Json(RetrieveReply {
        hits: hits.into_iter().map(HitOut::from).collect(),
        trace,
    }))
}
