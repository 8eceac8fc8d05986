//! The service over real HTTP, on real engines: a tiny random-weight GGUF this test writes
//! (its words are noise, so the checks are on streaming, sources, auth and errors),
//! llama.cpp, and a Qdrant Edge store filled by ragweave's ingestion.

use std::sync::Arc;

use futures::StreamExt;
use {{crate_name}}::{AppState, Done, Passage, app, load};
use ragweave::ingest::Ingestor;
use ragweave::qdrant_edge::{EdgeStore, EdgeStoreOptions};
use ragweave_testkit::gguf::DecoderSpec;
use serde_json::{Value, json};

const TOKEN: &str = "test-token";

struct Service {
    url: String,
    http: reqwest::Client,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

async fn start() -> Service {
    let dir = tempfile::tempdir().unwrap();
    DecoderSpec::tiny()
        .write(&dir.path().join("tiny.gguf"))
        .unwrap();
    let docs = dir.path().join("docs");
    std::fs::create_dir(&docs).unwrap();
    std::fs::write(
        docs.join("rivers.md"),
        "Rivers carry water from the mountains to the sea.",
    )
    .unwrap();
    std::fs::write(
        docs.join("bread.md"),
        "Bread rises because yeast ferments sugar.",
    )
    .unwrap();
    std::fs::write(docs.join("tides.md"), "Tides follow the pull of the moon.").unwrap();
    let store = EdgeStore::open(dir.path().join("store"), EdgeStoreOptions::default()).unwrap();
    Ingestor::new(Arc::new(store)).ingest(&docs).await.unwrap();
    let config = dir.path().join("pipeline.toml");
    std::fs::write(
        &config,
        r#"
        generator = "tiny"

        [generators.tiny]
        kind = "llama_cpp"
        model = "tiny.gguf"

        [stores.docs]
        kind = "qdrant_edge"
        path = "store"

        [experts.docs]
        kind = "store"
        store = "docs"

        [sampling]
        max_tokens = 8
        temperature = 0.0
        "#,
    )
    .unwrap();
    let state = AppState {
        pipeline: load(&config).await.unwrap(),
        token: Some(Arc::from(TOKEN)),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app(state)).await });
    Service {
        url,
        http: reqwest::Client::new(),
        server,
        _dir: dir,
    }
}

impl Service {
    /// Stops the server, so the store closes before its directory is removed.
    async fn stop(self) {
        self.server.abort();
        let _ = self.server.await;
    }

    fn post(&self, path: &str, body: Value) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.url))
            .bearer_auth(TOKEN)
            .json(&body)
    }
}

/// Splits a server-sent event body into (event, data) pairs.
fn events(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter_map(|block| {
            let mut name = None;
            let mut data = None;
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    name = Some(v.trim().to_string());
                } else if let Some(v) = line.strip_prefix("data:") {
                    data = Some(serde_json::from_str(v.trim_start()).unwrap());
                }
            }
            Some((name?, data?))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn answers_stream_with_their_sources() {
    let service = start().await;
    let reply = service
        .post("/ask", json!({ "question": "why does bread rise?" }))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    assert_eq!(reply.headers()["content-type"], "text/event-stream");
    let mut body = String::new();
    let mut chunks = reply.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        body.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
    }
    let events = events(&body);
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.first(), Some(&"hits"));
    assert_eq!(names.last(), Some(&"done"));
    let tokens: Vec<&str> = events
        .iter()
        .filter(|(n, _)| n == "token")
        .map(|(_, d)| d["text"].as_str().unwrap())
        .collect();
    assert_eq!(tokens.len(), 8, "one event per token, max_tokens of them");

    let hits: Vec<Passage> = serde_json::from_value(events[0].1.clone()).unwrap();
    assert!(
        hits[0].document_id.ends_with("/docs/bread.md"),
        "{}",
        hits[0].document_id
    );
    let done: Done = serde_json::from_value(events.last().unwrap().1.clone()).unwrap();
    assert_eq!(
        done.text,
        tokens.concat(),
        "the stream carries the whole answer"
    );
    assert!(!done.citations.is_empty());
    for citation in &done.citations {
        assert!(
            hits.iter().any(|h| h.chunk_id == citation.chunk_id),
            "cites a retrieved passage"
        );
    }
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn search_returns_hits_without_generating() {
    let service = start().await;
    // "moon" is in the tides passage, "sea" in the rivers one.
    let search = |top_k: usize| {
        service
            .post(
                "/search",
                json!({ "question": "does the moon move the sea?", "top_k": top_k }),
            )
            .send()
    };
    let reply = search(2).await.unwrap();
    assert_eq!(reply.status(), 200);
    let hits: Vec<Passage> = reply.json().await.unwrap();
    assert_eq!(hits.len(), 2);
    assert!(
        hits[0].document_id.ends_with("/docs/tides.md"),
        "{}",
        hits[0].document_id
    );
    assert!(
        hits[1].document_id.ends_with("/docs/rivers.md"),
        "{}",
        hits[1].document_id
    );
    assert!(hits[0].score >= hits[1].score);
    let one: Vec<Passage> = search(1).await.unwrap().json().await.unwrap();
    assert_eq!(one.len(), 1, "top_k is honoured");
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn health_is_open_and_the_rest_wants_the_token() {
    let service = start().await;
    let health = service
        .http
        .get(format!("{}/healthz", service.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    for token in [None, Some("wrong-token")] {
        let mut request = service
            .http
            .post(format!("{}/ask", service.url))
            .json(&json!({ "question": "why does bread rise?" }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let reply = request.send().await.unwrap();
        assert_eq!(reply.status(), 401, "token {token:?}");
        assert_eq!(reply.headers()["www-authenticate"], "Bearer");
    }
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_say_what_was_wrong() {
    let service = start().await;
    let blank = service
        .post("/ask", json!({ "question": "  " }))
        .send()
        .await
        .unwrap();
    assert_eq!(blank.status(), 400);
    let error: Value = blank.json().await.unwrap();
    assert_eq!(error["field"], "query.text", "{error}");

    let zero = service
        .post("/search", json!({ "question": "tides", "top_k": 0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(zero.status(), 400);
    let error: Value = zero.json().await.unwrap();
    assert_eq!(error["field"], "query.top_k", "{error}");

    let unknown = service
        .post("/ask", json!({ "question": "tides", "temperature": 2 }))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 422, "an unknown field is refused");
    service.stop().await;
}
