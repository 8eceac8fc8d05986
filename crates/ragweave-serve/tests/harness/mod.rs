//! A real server on loopback: a tiny llama.cpp generator the test writes, the real MiniLM
//! embedder (candle), a tiny llama.cpp reranker, and a Qdrant Edge store in a temporary
//! directory, ingested through the server itself.

#![allow(dead_code)]

use std::sync::Arc;

use futures::StreamExt;
use ragweave_candle::{CandleEmbedder, CandleEmbedderOptions};
use ragweave_core::config::BuiltPipeline;
use ragweave_core::{Embedder, Generator, Pipeline, Reranker, SamplingParams};
use ragweave_ingest::Ingestor;
use ragweave_llama_cpp::{EncoderOptions, LlamaGenerator, LlamaGeneratorOptions, LlamaReranker};
use ragweave_qdrant_edge::{EdgeStore, EdgeStoreOptions, SearchMode};
use ragweave_serve::{Metrics, ServeOptions, Served, Server};
use ragweave_testkit::gguf::{DecoderSpec, EncoderSpec};
use serde_json::{Value, json};

/// Passages the tests ingest; the answers cite them.
pub const DOCS: [(&str, &str); 6] = [
    (
        "rivers",
        "Rivers carry water from mountains to the sea, carving valleys on the way.",
    ),
    (
        "deltas",
        "A river delta forms where a river meets the sea and drops its sediment.",
    ),
    (
        "volcanoes",
        "Volcanoes erupt molten rock called lava when pressure builds underground.",
    ),
    (
        "bread",
        "Bread rises because yeast ferments sugar and releases carbon dioxide.",
    ),
    (
        "tides",
        "Tides follow the pull of the moon on the oceans twice a day.",
    ),
    (
        "router",
        "The pilot router scores each expert by the similarity of the query to its pilots.",
    ),
];

/// The components, loaded once per server.
pub struct Parts {
    pub generator: Arc<dyn Generator>,
    /// The same generator, for what only llama.cpp's can do (fault tests).
    pub llama: Arc<LlamaGenerator>,
    pub embedder: Arc<dyn Embedder>,
    pub reranker: Arc<dyn Reranker>,
    pub store: EdgeStore,
}

pub async fn parts(dir: &std::path::Path) -> Parts {
    let decoder = dir.join("tiny.gguf");
    DecoderSpec::tiny().write(&decoder).unwrap();
    let generator = LlamaGenerator::load(
        decoder.to_str().unwrap(),
        LlamaGeneratorOptions {
            parallel: 2,
            ..LlamaGeneratorOptions::default()
        },
    )
    .unwrap();
    let ranker = dir.join("tiny-reranker.gguf");
    EncoderSpec::tiny_reranker().write(&ranker).unwrap();
    let reranker =
        LlamaReranker::load(ranker.to_str().unwrap(), EncoderOptions::default()).unwrap();
    let minilm = ragweave_testkit::models::minilm();
    let embedder: Arc<dyn Embedder> = Arc::new(
        CandleEmbedder::load(minilm.to_str().unwrap(), CandleEmbedderOptions::default()).unwrap(),
    );
    let store = EdgeStore::open(
        dir.join("store"),
        EdgeStoreOptions::with_embedder(embedder.clone()),
    )
    .unwrap();
    let llama = Arc::new(generator);
    Parts {
        generator: llama.clone(),
        llama,
        embedder,
        reranker: Arc::new(reranker),
        store,
    }
}

/// A running server and what tests need to talk to it.
pub struct Running {
    pub url: String,
    pub http: reqwest::Client,
    pub metrics: Arc<Metrics>,
    pub stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub done: tokio::task::JoinHandle<std::io::Result<()>>,
    pub parts: Parts,
    pub dir: tempfile::TempDir,
    /// The server's bearer token, which the helpers send.
    pub token: Option<String>,
}

/// Greedy, short answers by default, so runs are deterministic and quick.
pub fn greedy(max_tokens: usize) -> SamplingParams {
    SamplingParams {
        max_tokens,
        temperature: 0.0,
        ..SamplingParams::default()
    }
}

pub async fn start(options: ServeOptions) -> Running {
    start_with(options, true).await
}

pub async fn start_with(options: ServeOptions, with_store: bool) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let parts = parts(dir.path()).await;
    let retriever = parts.store.searcher(SearchMode::Hybrid);
    let pipeline = Pipeline::builder()
        .expert("docs", Arc::new(retriever))
        .generator(parts.generator.clone())
        .sampling(greedy(16))
        .build()
        .unwrap();
    let mut built = BuiltPipeline::new(pipeline);
    built.components.add("tiny", parts.generator.clone());
    built.components.add("minilm", parts.embedder.clone());
    built.components.add("reranker", parts.reranker.clone());
    let ingestor = with_store.then(|| Arc::new(Ingestor::new(Arc::new(parts.store.clone()))));
    let served = Served::with_ingestor(built, ingestor);
    let token = options.token.clone();
    let server = Server::new(served, options);
    let metrics = server.metrics();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let done = tokio::spawn(server.run(listener, async {
        let _ = stopped.await;
    }));
    Running {
        url,
        http: reqwest::Client::new(),
        metrics,
        stop: Some(stop),
        done,
        parts,
        dir,
        token,
    }
}

/// Stops the server and waits for it before the directory under its store goes: the store
/// writes on close.
impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if self.done.is_finished() {
            return;
        }
        let done = &mut self.done;
        tokio::task::block_in_place(|| {
            let handle = tokio::runtime::Handle::current();
            let finished = handle.block_on(tokio::time::timeout(
                std::time::Duration::from_secs(10),
                done,
            ));
            assert!(finished.is_ok(), "the server did not stop within 10 s");
        });
    }
}

impl Running {
    pub async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.url))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// A streamed chat that goes on for 1,500 tokens, once it has answered 200.
    pub async fn long_stream(
        &self,
    ) -> futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>> {
        let body = json!({"model": "tiny", "stream": true, "max_tokens": 1500,
                          "messages": [{"role": "user", "content": "go on and on"}]});
        let response = self.post("/v1/chat/completions", body).await;
        assert_eq!(response.status(), 200);
        response.bytes_stream().boxed()
    }

    pub async fn ingest_docs(&self) -> Value {
        let documents: Vec<Value> = DOCS
            .iter()
            .map(|(id, text)| json!({"id": id, "text": text, "metadata": {"topic": id}}))
            .collect();
        let r = self
            .post("/v1/ingest", json!({ "documents": documents }))
            .await;
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    pub async fn metric(&self, name: &str) -> f64 {
        let mut request = self.http.get(format!("{}/metrics", self.url));
        if let Some(t) = &self.token {
            request = request.bearer_auth(t);
        }
        let text = request.send().await.unwrap().text().await.unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
            .parse()
            .unwrap()
    }
}

/// A request still in flight until released: its body is still arriving. It holds no
/// place under the concurrency limit (bodies are read first), but a shutdown waits for it.
pub struct SlowBody {
    send: tokio::sync::oneshot::Sender<()>,
    reply: tokio::task::JoinHandle<reqwest::Result<reqwest::Response>>,
}

impl SlowBody {
    /// Sends the rest of the body; the request then completes (200).
    pub async fn release(self) {
        let _ = self.send.send(());
        let status = self.reply.await.unwrap().unwrap().status();
        assert_eq!(status, 200);
    }
}

/// A stream of 1,500 tokens nobody reads yet: it holds its place under the concurrency
/// limit until its last token is sent.
pub struct Held {
    response: reqwest::Response,
}

impl Held {
    /// Reads the stream to its end, which frees its place.
    pub async fn release(self) {
        let mut bytes = self.response.bytes_stream();
        while let Some(b) = bytes.next().await {
            b.unwrap();
        }
    }
}

impl Running {
    /// A request in flight whose body has not all arrived.
    pub async fn slow_body(&self) -> SlowBody {
        let before = self.metric("ragweave_http_requests_in_flight").await;
        let (send, wait) = tokio::sync::oneshot::channel::<()>();
        let head = futures::stream::once(async {
            Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"{\"query\": "))
        });
        let tail = futures::stream::once(async move {
            let _ = wait.await;
            Ok(bytes::Bytes::from_static(b"\"rivers\"}"))
        });
        let mut request = self.http.post(format!("{}/v1/retrieve", self.url));
        if let Some(t) = &self.token {
            request = request.bearer_auth(t);
        }
        let request = request
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(head.chain(tail)));
        let reply = tokio::spawn(request.send());
        for _ in 0..200 {
            if self.metric("ragweave_http_requests_in_flight").await > before {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        SlowBody { send, reply }
    }

    /// A request holding a place under the concurrency limit: a long stream, unread.
    pub async fn hold(&self) -> Held {
        let body = json!({"model": "tiny", "stream": true, "max_tokens": 1500,
                          "messages": [{"role": "user", "content": "go on and on"}]});
        let mut request = self
            .http
            .post(format!("{}/v1/chat/completions", self.url))
            .json(&body);
        if let Some(t) = &self.token {
            request = request.bearer_auth(t);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        Held { response }
    }

    /// Waits until no request is in flight, the place of a released one included.
    pub async fn settle(&self) {
        for _ in 0..400 {
            if self.metric("ragweave_http_requests_in_flight").await <= 1.0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        panic!("requests still in flight");
    }
}

/// The `data:` payloads of a streamed reply, as they arrive, with `[DONE]` as a string.
pub async fn events(response: reqwest::Response) -> Vec<String> {
    let mut bytes = response.bytes_stream();
    let mut buffer = String::new();
    let mut out = Vec::new();
    while let Some(b) = bytes.next().await {
        buffer.push_str(std::str::from_utf8(&b.unwrap()).unwrap());
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            if let Some(data) = event.trim_end().strip_prefix("data: ") {
                out.push(data.to_string());
            }
        }
    }
    out
}
