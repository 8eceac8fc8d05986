//! `POST /v1/embeddings`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use ragweave_core::{EmbedInput, Embedder, InputKind};

use crate::api::{EmbeddingOut, EmbeddingsReply, EmbeddingsRequest, InputIn, Usage};
use crate::error::{ApiError, JsonBody};
use crate::state::AppState;

/// Most texts in one request.
const MAX_INPUTS: usize = 2048;

pub(crate) async fn embed(
    State(state): State<Arc<AppState>>,
    JsonBody(request): JsonBody<EmbeddingsRequest>,
) -> Result<Json<EmbeddingsReply>, ApiError> {
    let embedder: &Arc<dyn Embedder> = state
        .served
        .embedder(&request.model)
        .ok_or_else(|| state.unknown_model(&request.model))?;
    if let Some(f) = request.encoding_format.as_deref().filter(|f| *f != "float") {
        return Err(ApiError::invalid(
            "encoding_format",
            format!("`{f}` is not served; use `float`"),
        ));
    }
    if let Some(d) = request.dimensions.filter(|d| *d != embedder.dimension()) {
        return Err(ApiError::invalid(
            "dimensions",
            format!(
                "{} embeds in {} dimensions, not {d}",
                request.model,
                embedder.dimension()
            ),
        ));
    }
    let kind = match request.input_type.as_deref() {
        None | Some("document") => InputKind::Document,
        Some("query") => InputKind::Query,
        Some(other) => {
            return Err(ApiError::invalid(
                "input_type",
                format!("`{other}` is neither `query` nor `document`"),
            ));
        }
    };
    let texts = match request.input {
        InputIn::One(t) => vec![t],
        InputIn::Many(ts) => ts,
    };
    if texts.is_empty() || texts.len() > MAX_INPUTS {
        return Err(ApiError::invalid(
            "input",
            format!("holds {} texts; send 1 to {MAX_INPUTS}", texts.len()),
        ));
    }
    if let Some(i) = texts.iter().position(|t| t.trim().is_empty()) {
        return Err(ApiError::invalid(format!("input[{i}]"), "is blank"));
    }
    let input = EmbedInput {
        kind,
        instruction: None,
    };
    let vectors = embedder.embed_checked(&texts, input).await?;
    Ok(Json(EmbeddingsReply {
        object: "list",
        data: vectors
            .into_iter()
            .enumerate()
            .map(|(index, embedding)| EmbeddingOut {
                object: "embedding",
                index,
                embedding,
            })
            .collect(),
        model: embedder.model_id().to_string(),
        usage: Usage::generated(0),
    }))
}
