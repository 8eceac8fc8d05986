//! The routes, and the layers each group passes through.

mod chat;
mod embeddings;
mod ingest;
mod rerank;
mod retrieve;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};

use ragweave_core::Generator;

use crate::api::{Health, ModelList, ModelOut};
use crate::edges;
use crate::error::ApiError;
use crate::state::AppState;

/// Every route: the API behind auth, a body read in full and then the concurrency limit,
/// `/metrics` behind auth only (a scrape must not be refused under load), `/healthz` and
/// `/openapi.json` open; all counted in the metrics, held to the reply deadline and, without
/// a token, to the `Host` check.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    let limited = Router::new()
        .route("/v1/chat/completions", post(chat::complete))
        .route("/v1/embeddings", post(embeddings::embed))
        .route("/v1/rerank", post(rerank::rerank))
        .route("/v1/retrieve", post(retrieve::retrieve))
        .route("/v1/ingest", post(ingest::ingest))
        .route("/v1/models", get(models))
        .route_layer(from_fn_with_state(state.clone(), edges::limit))
        .route_layer(from_fn_with_state(state.clone(), edges::read_body));
    let authorized = limited
        .route("/metrics", get(metrics))
        .route_layer(from_fn_with_state(state.clone(), edges::authorize));
    let open = Router::new()
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(openapi));
    authorized
        .merge(open)
        .route_layer(from_fn_with_state(state.clone(), edges::check_host))
        .route_layer(from_fn_with_state(state.clone(), edges::deadline))
        .route_layer(from_fn_with_state(state.clone(), edges::observe))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.options.max_body_bytes))
        .with_state(state)
}

async fn models(State(state): State<Arc<AppState>>) -> Json<ModelList> {
    let data = state
        .served
        .models(&state.options.model)
        .into_iter()
        .map(|(id, kind)| ModelOut {
            id,
            object: "model",
            created: 0,
            owned_by: "ragweave",
            kind,
        })
        .collect();
    Json(ModelList {
        object: "list",
        data,
    })
}

async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    let served = &state.served;
    let rag = served
        .built
        .pipeline
        .generator()
        .map(|g| (state.options.model.clone(), g));
    let named = served
        .built
        .components
        .all::<dyn Generator>()
        .map(|(name, g)| (name.to_string(), g));
    let checks = rag.into_iter().chain(named).map(|(name, g)| async move {
        let health = g.health().await;
        (name, health)
    });
    let mut unhealthy = Vec::new();
    for (name, health) in futures::future::join_all(checks).await {
        if let Err(e) = health {
            tracing::warn!(generator = %name, error = %e.report(), "unhealthy");
            unhealthy.push(name);
        }
    }
    let (status, word) = if unhealthy.is_empty() {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "unhealthy")
    };
    let health = Health {
        status: word,
        unhealthy,
    };
    (status, Json(health)).into_response()
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

async fn openapi() -> Json<serde_json::Value> {
    Json(crate::openapi::document())
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_route",
        "no such route; GET /openapi.json lists them",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method; GET /openapi.json lists them",
    )
}
