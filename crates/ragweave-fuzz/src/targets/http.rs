//! The HTTP API in process: a request body to one of the POST routes, through every layer
//! a real request passes (host check, body reader, limits, JSON parsing, the handler). A
//! panic in a handler answers 500, so a 500 is a finding.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use ragweave_core::config::BuiltPipeline;
use ragweave_core::{
    Bm25Index, Chunk, ChunkStore, Embedder, Generator, HashingEmbedder, InMemoryStore, Pipeline,
};
use ragweave_ingest::Ingestor;
use ragweave_serve::{ServeOptions, Served, Server};
use ragweave_testkit::fixtures::ScriptedGenerator;
use tower::ServiceExt;

use super::{Target, tokens};
use crate::mutate::Mutator;

const ROUTES: [&str; 5] = [
    "/v1/chat/completions",
    "/v1/retrieve",
    "/v1/ingest",
    "/v1/embeddings",
    "/v1/rerank",
];

/// A body for each route, in `ROUTES` order.
const BODIES: [&str; 10] = [
    r#"{"model":"ragweave","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"where do rivers go?"}],"passages":2,"filter":{"eq":{"field":"topic","value":"water"}}}"#,
    r#"{"model":"echo","stream":true,"max_tokens":4,"stop":["x"],"temperature":0.5,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}"#,
    r#"{"query":"rivers","top_k":3,"trace":true}"#,
    r#"{"query":"sea","filter":{"and":[{"eq":{"field":"topic","value":"water"}},{"in":{"field":"n","values":[1,2,3]}}]}}"#,
    r#"{"documents":[{"id":"a","text":"Tides follow the moon.","metadata":{"topic":"water","n":1}}]}"#,
    r#"{"documents":[{"id":"b","text":"Bread rises."},{"id":"a","text":"again"}],"chunk_tokens":16}"#,
    r#"{"model":"hash","input":["one","two"]}"#,
    r#"{"model":"hash","input":"one","encoding_format":"float"}"#,
    r#"{"model":"none","query":"q","documents":["a","b"],"top_n":1}"#,
    r#"{"model":"hash","query":"q","documents":[]}"#,
];

/// Requests served by one server before it is built anew, so what ingestion stores stays
/// small over a long run.
const REQUESTS_PER_SERVER: usize = 2_000;

pub(crate) struct Http {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
    served: usize,
}

impl Http {
    pub(crate) fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let router = runtime.block_on(router());
        Self {
            runtime,
            router,
            served: 0,
        }
    }
}

async fn router() -> axum::Router {
    let index = Arc::new(Bm25Index::new(Default::default()));
    index
        .insert(vec![
            Chunk::new("r", "rivers", "Rivers carry water to the sea."),
            Chunk::new("t", "tides", "Tides follow the pull of the moon."),
        ])
        .expect("two chunks");
    let generator: Arc<dyn Generator> = Arc::new(ScriptedGenerator::new("The sea [1]."));
    let pipeline = Pipeline::builder()
        .expert("docs", index)
        .generator(generator.clone())
        .build()
        .expect("a pipeline");
    let mut built = BuiltPipeline::new(pipeline);
    built.components.add("echo", generator);
    let embedder: Arc<dyn Embedder> = Arc::new(HashingEmbedder::new(16));
    built.components.add("hash", embedder);
    let store: Arc<dyn ChunkStore> = Arc::new(InMemoryStore::text_only());
    let ingestor = Arc::new(Ingestor::new(store));
    let served = Served::with_ingestor(built, Some(ingestor));
    Server::new(served, ServeOptions::default()).router()
}

impl Target for Http {
    fn name(&self) -> &'static str {
        "http"
    }

    fn mutator(&self) -> Mutator {
        let seeds = BODIES
            .iter()
            .enumerate()
            .map(|(i, body)| {
                let mut seed = vec![(i / 2) as u8];
                seed.extend_from_slice(body.as_bytes());
                seed
            })
            .collect();
        let dictionary = tokens(&[
            "{",
            "}",
            "[",
            "]",
            "\"",
            ":",
            ",",
            "null",
            "true",
            "-1",
            "0",
            "1e999",
            "18446744073709551616",
            "\\u0000",
            "\\ud800",
            "\"role\":\"user\"",
            "\"content\":",
            "\"stream\":true",
            "\"max_tokens\":",
            "\"top_k\":",
            "\"passages\":",
            "\"filter\":",
            "{\"not\":",
            "{\"or\":[",
            "\"values\":[",
            "<|im_start|>",
            "\"metadata\":{",
        ]);
        Mutator::new(seeds, dictionary, 64 << 10)
    }

    fn run(&mut self, input: &[u8]) -> Result<bool, String> {
        let Some((route, body)) = input.split_first() else {
            return Ok(false);
        };
        let route = ROUTES[usize::from(*route) % ROUTES.len()];
        self.served += 1;
        if self.served.is_multiple_of(REQUESTS_PER_SERVER) {
            self.router = self.runtime.block_on(router());
        }
        let request = Request::post(route)
            .header("host", "localhost")
            .header("content-type", "application/json")
            .body(Body::from(body.to_vec()))
            .map_err(|e| e.to_string())?;
        let router = self.router.clone();
        let (status, reply) = self.runtime.block_on(async move {
            let response = router.oneshot(request).await.expect("infallible");
            let status = response.status();
            let reply = response
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            (status, reply)
        });
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            return Err(format!(
                "{route} answered 500: {}",
                String::from_utf8_lossy(&reply)
            ));
        }
        Ok(status.is_success())
    }
}
