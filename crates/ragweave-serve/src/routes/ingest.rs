//! `POST /v1/ingest`: documents in, chunked, embedded and stored; diffed like files.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ragweave_core::{Document, Error};
use ragweave_ingest::loader::LoadedDocument;

use crate::api::{IngestReply, IngestRequest};
use crate::error::{ApiError, JsonBody};
use crate::state::AppState;

pub(crate) async fn ingest(
    State(state): State<Arc<AppState>>,
    JsonBody(request): JsonBody<IngestRequest>,
) -> Result<Json<IngestReply>, ApiError> {
    let Some(ingestor) = &state.served.ingestor else {
        return Err(ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "ingest_disabled",
            "this server has no store to ingest into: its config has no `[stores]`",
        ));
    };
    if request.documents.is_empty() {
        return Err(ApiError::invalid("documents", "is empty"));
    }
    // Every document is checked before any is written: a bad one fails the whole request.
    let mut docs = Vec::with_capacity(request.documents.len());
    for (i, d) in request.documents.into_iter().enumerate() {
        if d.id.trim().is_empty() {
            return Err(ApiError::invalid(format!("documents[{i}].id"), "is blank"));
        }
        if d.text.trim().is_empty() {
            return Err(ApiError::invalid(
                format!("documents[{i}].text"),
                "is blank",
            ));
        }
        let mut document = Document::new(d.id, d.text);
        document.metadata = d.metadata;
        docs.push(LoadedDocument {
            document,
            markdown: d.markdown,
        });
    }
    // The ingestion runs to its end even when the client leaves or the reply deadline passes:
    // cut between writing a document's new chunks and deleting its old ones, it would leave
    // both stored.
    let ingestor = Arc::clone(ingestor);
    let shared = Arc::clone(&state);
    let run = tokio::spawn(async move {
        let _one_at_a_time = shared.ingesting.lock().await;
        let report = ingestor.ingest_documents(docs).await?;
        shared.metrics.ingested(report.chunks_written);
        let stored = ingestor.store().count().await?;
        Ok::<_, Error>((report, stored))
    });
    let (report, stored_chunks) = run
        .await
        .map_err(|e| Error::component("ingest", format!("the ingestion task failed: {e}")))??;
    Ok(Json(IngestReply {
        documents: report.documents,
        added: report.added,
        updated: report.updated,
        unchanged: report.unchanged,
        chunks_written: report.chunks_written,
        chunks_deleted: report.chunks_deleted,
        stored_chunks,
    }))
}
