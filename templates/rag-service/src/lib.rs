//! An HTTP service that answers from documents with a ragweave pipeline.
//!
//! [`load`] builds the pipeline a config file describes; [`app`] serves it: `GET /healthz`,
//! `POST /ask` (answers as server-sent events), `POST /search` (hits as JSON).

use std::convert::Infallible;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::{Stream, StreamExt};
use ragweave::config::PipelineConfig;
use ragweave::{AskEvent, AskRequest, Citation, Error, Hit, Pipeline};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Builds the pipeline `config` describes, with every component kind this build has;
/// paths in it are relative to the file.
pub async fn load(config: &Path) -> ragweave::Result<Pipeline> {
    let parsed = PipelineConfig::from_path(config)?;
    let base = config.parent().unwrap_or(Path::new("."));
    parsed.build(&ragweave::registry(), base).await
}

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The pipeline that answers.
    pub pipeline: Pipeline,
    /// The bearer token requests must carry; `None` serves without auth.
    pub token: Option<Arc<str>>,
}

/// The routes. Everything but `/healthz` wants the token.
pub fn app(state: AppState) -> Router {
    let guarded = Router::new()
        .route("/ask", post(ask))
        .route("/search", post(search))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .merge(guarded)
        .with_state(state)
}

/// The body of `/ask` and `/search`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AskBody {
    /// The question.
    pub question: String,
    /// A conversation id: earlier exchanges under it are shown to the model (when the
    /// config has `[memory]`).
    #[serde(default)]
    pub conversation: Option<String>,
    /// Passages to retrieve.
    #[serde(default)]
    pub top_k: Option<usize>,
}

impl AskBody {
    fn request(self) -> AskRequest {
        let mut request = AskRequest::new(self.question);
        if let Some(id) = self.conversation {
            request = request.conversation(id);
        }
        if let Some(k) = self.top_k {
            request = request.top_k(k);
        }
        request
    }
}

/// A retrieved passage as the service returns it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Passage {
    /// The chunk id.
    pub chunk_id: String,
    /// The document it came from.
    pub document_id: String,
    /// Higher is better.
    pub score: f32,
    /// The passage.
    pub text: String,
}

impl From<&Hit> for Passage {
    fn from(hit: &Hit) -> Self {
        Self {
            chunk_id: hit.chunk.id.clone(),
            document_id: hit.chunk.document_id.clone(),
            score: hit.score,
            text: hit.chunk.text.clone(),
        }
    }
}

/// The `done` event of `/ask`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Done {
    /// The whole answer; `[n]` cites `citations[n - 1]`.
    pub text: String,
    /// The passages the model was shown.
    pub citations: Vec<Citation>,
}

/// An error reply: what was wrong and, for bad input, which field.
pub struct ApiError {
    status: StatusCode,
    error: Error,
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        let status = match &error {
            Error::InvalidInput { .. } | Error::DimensionMismatch { .. } => StatusCode::BAD_REQUEST,
            Error::NotFound { .. } => StatusCode::NOT_FOUND,
            Error::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            e if e.is_transient() => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self { status, error }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let field = match &self.error {
            Error::InvalidInput { field, .. } => Some(field.clone()),
            _ => None,
        };
        let body = json!({ "error": self.error.report().to_string(), "field": field });
        (self.status, Json(body)).into_response()
    }
}

async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(token) = &state.token else {
        return next.run(request).await;
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(given) if same(given.as_bytes(), token.as_bytes()) => next.run(request).await,
        _ => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            Json(json!({ "error": "missing or wrong bearer token", "field": null })),
        )
            .into_response(),
    }
}

/// Compares in time that does not depend on where the strings differ, so a wrong token
/// tells an attacker nothing about the right one.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn search(
    State(state): State<AppState>,
    Json(body): Json<AskBody>,
) -> Result<Json<Vec<Passage>>, ApiError> {
    let hits = state.pipeline.retrieve(body.request()).await?;
    Ok(Json(hits.iter().map(Passage::from).collect()))
}

async fn ask(
    State(state): State<AppState>,
    Json(body): Json<AskBody>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let mut events = state.pipeline.ask_stream(body.request());
    // Retrieval runs before the first event: its errors become the reply's status, not an
    // event inside a 200.
    let first = match events.next().await {
        Some(Ok(event)) => event,
        Some(Err(e)) => return Err(e.into()),
        None => return Err(Error::component("pipeline", "no answer").into()),
    };
    let rest = events.map(|event| event.map_or_else(|e| error_event(&e), sse_event));
    let stream = futures::stream::once(async move { sse_event(first) })
        .chain(rest)
        .map(Ok);
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

fn sse_event(event: AskEvent) -> Event {
    let (name, data) = match event {
        AskEvent::Hits(hits) => (
            "hits",
            json!(hits.iter().map(Passage::from).collect::<Vec<_>>()),
        ),
        AskEvent::Token(text) => ("token", json!({ "text": text })),
        AskEvent::Done(answer) => (
            "done",
            json!(Done {
                text: answer.text,
                citations: answer.citations,
            }),
        ),
    };
    Event::default().event(name).data(data.to_string())
}

fn error_event(error: &Error) -> Event {
    Event::default()
        .event("error")
        .data(json!({ "error": error.report().to_string() }).to_string())
}
