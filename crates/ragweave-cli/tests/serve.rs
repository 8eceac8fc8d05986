//! `ragweave serve --config FILE` as a user runs it: the binary, a config with a llama.cpp
//! generator and reranker (tiny models the test writes), the real MiniLM embedder and a
//! Qdrant Edge store ingested by `ragweave ingest`; requests over loopback; SIGTERM while a
//! stream is in flight lets it finish, then the process exits cleanly.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

mod common;

use common::{command, ok};
use futures::StreamExt;
use ragweave_testkit::gguf::{DecoderSpec, EncoderSpec};
use serde_json::{Value, json};

/// A server process that a failing test does not leave running.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn config(dir: &Path) -> String {
    config_with(dir, true)
}

/// The config, with or without its reranker (the tiny one reads passages byte by byte:
/// about 80 ms a retrieve, which a load test need not spend).
fn config_with(dir: &Path, reranker: bool) -> String {
    DecoderSpec::tiny().write(&dir.join("tiny.gguf")).unwrap();
    EncoderSpec::tiny_reranker()
        .write(&dir.join("tiny-reranker.gguf"))
        .unwrap();
    let minilm = ragweave_testkit::models::minilm();
    let path = dir.join("pipeline.toml");
    std::fs::write(
        &path,
        format!(
            r#"
generator = "local"

[sampling]
temperature = 0.0
max_tokens = 8

[generators.local]
kind = "llama_cpp"
model = "tiny.gguf"
context_length = 8192   # the tokenizer is byte-level: passages are long prompts
parallel = 2

[embedders.minilm]
kind = "candle"
model = "{}"

[stores.docs]
kind = "qdrant_edge"
path = "store"
embedder = "minilm"

[experts.docs]
kind = "store"
store = "docs"

{}"#,
            minilm.display(),
            if reranker {
                "[reranker]\nkind = \"llama_cpp_reranker\"\nmodel = \"tiny-reranker.gguf\"\n"
            } else {
                ""
            }
        ),
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_answers_over_http_and_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    ok(command(&["ingest", "docs", "--config", &config, "--quiet"])
        .output()
        .unwrap());
    let mut child = Killed(
        command(&["serve", "--config", &config, "--bind", "127.0.0.1:0"])
            .env("RAGWEAVE_API_TOKEN", "tok")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(
        line.contains("models: ragweave, local, minilm, reranker; ingest on; bearer token"),
        "{line}"
    );
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .to_string();
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        http.post(format!("{url}{path}"))
            .bearer_auth("tok")
            .json(&body)
            .send()
    };

    assert_eq!(
        http.get(format!("{url}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let refused = http
        .post(format!("{url}/v1/retrieve"))
        .json(&json!({"query": "router"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    let hits: Value = post(
        "/v1/retrieve",
        json!({"query": "how does the router choose experts?", "top_k": 3}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(hits["hits"].as_array().unwrap().len(), 3, "{hits}");
    assert!(
        hits["hits"][0]["document_id"]
            .as_str()
            .unwrap()
            .starts_with("file:///"),
        "{hits}"
    );

    let answer: Value = post(
        "/v1/chat/completions",
        json!({"model": "ragweave", "messages": [{"role": "user", "content": "how does the router choose experts?"}]}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(answer["usage"]["completion_tokens"], 8, "{answer}");
    assert!(
        !answer["citations"].as_array().unwrap().is_empty(),
        "{answer}"
    );

    // Ingest through the server into the config's store; the next retrieve finds it.
    let ingested: Value = post(
        "/v1/ingest",
        json!({"documents": [{"id": "note", "text": "Zebrafish regenerate their hearts."}]}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(ingested["added"], 1, "{ingested}");
    let found: Value = post(
        "/v1/retrieve",
        json!({"query": "zebrafish hearts", "top_k": 1}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(found["hits"][0]["document_id"], "note", "{found}");
    let embedded: Value = post(
        "/v1/embeddings",
        json!({"model": "minilm", "input": ["a", "b"]}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        embedded["data"][1]["embedding"].as_array().unwrap().len(),
        384
    );
    let ranked: Value = post(
        "/v1/rerank",
        json!({"model": "reranker", "query": "q", "documents": ["a", "b", "c"]}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(ranked["results"].as_array().unwrap().len(), 3, "{ranked}");

    // SIGTERM with a long stream in flight: the stream finishes, then the process exits 0.
    let streaming = post(
        "/v1/chat/completions",
        json!({"model": "local", "stream": true, "max_tokens": 1500,
               "messages": [{"role": "user", "content": "go on and on"}]}),
    )
    .await
    .unwrap();
    let mut bytes = streaming.bytes_stream();
    let mut text = String::from_utf8(bytes.next().await.unwrap().unwrap().to_vec()).unwrap();
    let term = std::process::Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    while let Some(b) = bytes.next().await {
        text.push_str(std::str::from_utf8(&b.unwrap()).unwrap());
    }
    assert!(
        text.ends_with("data: [DONE]\n\n"),
        "cut short: ...{}",
        &text[text.len().saturating_sub(300)..]
    );
    assert!(
        text.contains("\"finish_reason\":\"length\""),
        "all 1500 tokens were sent"
    );
    let status = child.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert!(
        rest.contains("stopped: in-flight requests finished"),
        "{rest}"
    );
}

#[test]
fn serve_names_what_is_wrong_with_its_config() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(
        &config,
        "[stores.docs]\nkind = \"qdrant_edge\"\npath = \"missing-store\"\n",
    )
    .unwrap();
    let out = command(&[
        "serve",
        "--config",
        config.to_str().unwrap(),
        "--bind",
        "127.0.0.1:0",
    ])
    .output()
    .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("missing-store") && err.contains("ragweave ingest"),
        "{err}"
    );
}

/// SciFact's corpus as `POST /v1/ingest` bodies of 250 documents each.
fn scifact_uploads() -> Vec<Value> {
    let corpus = ragweave_testkit::datasets::dataset("scifact").join("corpus.jsonl");
    let docs: Vec<Value> = std::fs::read_to_string(corpus)
        .unwrap()
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap();
            let text = format!(
                "{}\n\n{}",
                v["title"].as_str().unwrap(),
                v["text"].as_str().unwrap()
            );
            json!({"id": v["_id"], "text": text})
        })
        .collect();
    docs.chunks(250)
        .map(|c| json!({ "documents": c }))
        .collect()
}

/// A server on a store of its own: the process, its URL, and its stdout kept open (a
/// closed pipe would fail the server's last line).
struct StoreServer {
    child: Killed,
    url: String,
    _stdout: BufReader<std::process::ChildStdout>,
}

/// `ragweave serve --store STORE` on a free port, once it listens.
fn serve_store(store: &Path) -> StoreServer {
    let mut serve = command(&[
        "serve",
        "--store",
        store.to_str().unwrap(),
        "--bind",
        "127.0.0.1:0",
    ]);
    serve.env_remove("RAGWEAVE_API_TOKEN").stderr(Stdio::null());
    listening(serve)
}

/// Starts `serve` (a `ragweave serve` command) and waits for its URL.
fn listening(mut serve: std::process::Command) -> StoreServer {
    let mut child = Killed(serve.stdout(Stdio::piped()).spawn().unwrap());
    let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_string();
    StoreServer {
        child,
        url,
        _stdout: stdout,
    }
}

/// Posts every upload in order; the first failure (the server killed) ends it.
async fn upload_all(url: &str, uploads: &[Value]) -> Result<(), String> {
    let http = reqwest::Client::new();
    for body in uploads {
        let reply = http
            .post(format!("{url}/v1/ingest"))
            .json(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !reply.status().is_success() {
            return Err(format!(
                "{}: {}",
                reply.status(),
                reply.text().await.unwrap_or_default()
            ));
        }
    }
    Ok(())
}

/// SIGTERM, then waits for a clean exit: the store is closed and can be opened again.
fn stop(mut server: StoreServer) {
    let term = std::process::Command::new("kill")
        .args(["-TERM", &server.child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    assert!(server.child.0.wait().unwrap().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_during_uploads_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let uploads = scifact_uploads();
    let clean = dir.path().join("clean");
    let server = serve_store(&clean);
    let started = std::time::Instant::now();
    upload_all(&server.url, &uploads).await.unwrap();
    let span = started.elapsed();
    stop(server);
    let clean = common::Snapshot::of(&clean).await;

    let killed = dir.path().join("killed");
    let mut partial = Vec::new();
    for delay in common::kill_delays(20, span / 50, span / 8) {
        let mut server = serve_store(&killed);
        let uploading = tokio::spawn({
            let (uploads, url) = (uploads.clone(), server.url.clone());
            async move { upload_all(&url, &uploads).await }
        });
        tokio::time::sleep(delay).await;
        // SIGKILL mid-request: no destructor, no flush, no unlock.
        server.child.0.kill().unwrap();
        server.child.0.wait().unwrap();
        let finished = uploading.await.unwrap().is_ok();
        let count = common::Snapshot::of(&killed).await.count;
        partial.push((delay.as_millis(), count, finished));
        if finished || count == clean.count {
            // Done before the kill: start over, so the next kill lands mid-upload again.
            std::fs::remove_dir_all(&killed).unwrap();
        }
    }
    println!(
        "clean uploads {span:?}; (kill ms, chunks stored, uploads finished) after each kill: \
         {partial:?} of {}",
        clean.count
    );
    let midway = partial
        .iter()
        .filter(|(_, n, finished)| !finished && *n > 0 && *n < clean.count)
        .count();
    assert!(
        midway >= 15,
        "kills must land mid-upload: {midway} of 20 did: {partial:?}"
    );
    let server = serve_store(&killed);
    upload_all(&server.url, &uploads).await.unwrap();
    stop(server);
    let resumed = common::Snapshot::of(&killed).await;
    assert_eq!(resumed.count, clean.count, "no chunk lost or duplicated");
    assert_eq!(
        resumed, clean,
        "the same chunks and searches as an uninterrupted run"
    );
}

#[test]
fn replies_and_logs_never_carry_a_planted_secret() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("remote.toml");
    // A generator behind a server that is not there, with an API key in the environment.
    std::fs::write(
        &config,
        r#"
[generators.remote]
kind = "openai"
model = "gpt-remote"
base_url = "http://127.0.0.1:9/v1"
api_key_env = "RAGWEAVE_TEST_PLANTED_KEY"
attempts = 1
"#,
    )
    .unwrap();
    let store = dir.path().join("store");
    let secret = "sk-planted-5ecret-7c1e";
    let mut serve = command(&[
        "serve",
        "--config",
        config.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--bind",
        "127.0.0.1:0",
        "--log-json",
    ]);
    serve
        .env("RAGWEAVE_TEST_PLANTED_KEY", secret)
        .env("RUST_LOG", "debug")
        .stderr(Stdio::piped());
    let mut server = listening(serve);
    let url = server.url.clone();
    // Drained as it comes: debug logs could fill the pipe and stall the server.
    let mut stderr = server.child.0.stderr.take().unwrap();
    let logs = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut text).unwrap();
        text
    });
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let reply = runtime.block_on(async {
        let r = reqwest::Client::new()
            .post(format!("{url}/v1/chat/completions"))
            .json(&json!({"model": "remote", "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    });
    assert_eq!(reply.0, 503, "{}", reply.1);
    assert!(
        reply
            .1
            .contains("openai failed; the server log has the cause"),
        "{}",
        reply.1
    );
    for leak in [secret, "127.0.0.1:9"] {
        assert!(
            !reply.1.contains(leak),
            "the reply carries {leak}: {}",
            reply.1
        );
    }
    stop(server);
    let logs = logs.join().unwrap();
    // The cause is logged, as JSON lines, for whoever runs the server; the key never is.
    let failure = logs
        .lines()
        .find(|l| l.contains("request failed"))
        .unwrap_or_else(|| panic!("no failure logged in\n{logs}"));
    let failure: Value = serde_json::from_str(failure).unwrap();
    assert!(
        failure["fields"]["error"]
            .as_str()
            .unwrap()
            .contains("127.0.0.1:9"),
        "{failure}"
    );
    assert!(!logs.contains(secret), "the logs carry the key:\n{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_stays_a_small_multiple_of_the_body_for_long_texts_and_large_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_store(&dir.path().join("store"));
    let http = reqwest::Client::new();
    let before = metric(
        &http,
        &server.url,
        "ragweave_process_peak_resident_memory_bytes",
    )
    .await as u64;
    // 2 MiB of text (about 2,000 chunks) with 5 MiB of metadata: before, every chunk carried a
    // copy, about 10 GB in all. Now the metadata is refused, naming its place.
    let text = "Sediment settles where the river slows. ".repeat(52_000);
    let huge = json!({"documents": [{"id": "big", "text": text, "metadata": {"acl": "x".repeat(5 << 20)}}]});
    let body_bytes = huge.to_string().len() as u64;
    let reply = http
        .post(format!("{}/v1/ingest", server.url))
        .json(&huge)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 400);
    let e: Value = reply.json().await.unwrap();
    assert_eq!(e["error"]["param"], "documents[0].metadata", "{e}");
    // The same text with metadata under the limit is ingested; chunks take the document's
    // metadata a batch at a time.
    let fits = json!({"documents": [{"id": "big", "text": text, "metadata": {"acl": "x".repeat(30 << 10)}}]});
    let reply = http
        .post(format!("{}/v1/ingest", server.url))
        .json(&fits)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200, "{}", reply.text().await.unwrap());
    let after = metric(
        &http,
        &server.url,
        "ragweave_process_peak_resident_memory_bytes",
    )
    .await as u64;
    let grown = after.saturating_sub(before);
    println!(
        "peak RSS {} MiB -> {} MiB (+{} MiB) for a {} MiB body and a 2 MiB text with 30 KiB of metadata",
        before >> 20,
        after >> 20,
        grown >> 20,
        body_bytes >> 20
    );
    // Before the cap, the refused body alone needed about 1,400 times its size.
    assert!(
        grown < 16 * body_bytes,
        "peak RSS grew {grown} bytes for a {body_bytes}-byte body"
    );
    stop(server);
}

/// A gauge or counter of the server's `/metrics`.
async fn metric(http: &reqwest::Client, url: &str, name: &str) -> f64 {
    let text = http
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let prefix = format!("{name} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
        .parse()
        .unwrap()
}

/// Sends `total` requests with `concurrency` in flight; returns every failure's status and
/// body.
async fn load(
    http: &reqwest::Client,
    url: String,
    total: usize,
    concurrency: usize,
    body: impl Fn(usize) -> Value,
) -> Vec<String> {
    futures::stream::iter(0..total)
        .map(|i| {
            let request = http.post(&url).json(&body(i)).send();
            async move {
                match request.await {
                    Ok(r) if r.status().is_success() => {
                        r.bytes().await.err().map(|e| e.to_string())
                    }
                    Ok(r) => Some(format!(
                        "{}: {}",
                        r.status(),
                        r.text().await.unwrap_or_default()
                    )),
                    Err(e) => Some(e.to_string()),
                }
            }
        })
        .buffer_unordered(concurrency)
        .filter_map(|failed| async move { failed })
        .collect()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_load_every_request_is_answered_and_memory_stays_flat() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_with(dir.path(), false);
    ok(command(&["ingest", "docs", "--config", &config, "--quiet"])
        .output()
        .unwrap());
    let mut serve = command(&["serve", "--config", &config, "--bind", "127.0.0.1:0"]);
    serve.env_remove("RAGWEAVE_API_TOKEN").stderr(Stdio::null());
    let server = listening(serve);
    let http = reqwest::Client::new();
    let chat = |i: usize| {
        json!({"model": "local", "max_tokens": 8,
               "messages": [{"role": "user", "content": format!("question {i}: where do rivers go?")}]})
    };
    let retrieve =
        |i: usize| json!({"query": format!("how does the router choose experts {i}"), "top_k": 5});
    let chats = format!("{}/v1/chat/completions", server.url);
    let retrieves = format!("{}/v1/retrieve", server.url);
    // A first round brings the allocator and the engines' buffers to their working size.
    assert_eq!(
        load(&http, chats.clone(), 64, 32, chat).await,
        Vec::<String>::new()
    );
    assert_eq!(
        load(&http, retrieves.clone(), 640, 64, retrieve).await,
        Vec::<String>::new()
    );
    let rss = |name| metric(&http, &server.url, name);
    // A retrieve embeds its query with MiniLM (about 18 ms of this machine's two cores in a
    // test build): the issue's 10,000 take three minutes, so CI sends 2,000 and
    // RAGWEAVE_LOAD_FULL=1 the rest.
    let searches = if std::env::var_os("RAGWEAVE_LOAD_FULL").is_some() {
        10_000
    } else {
        2_000
    };
    let before = rss("ragweave_process_resident_memory_bytes").await;
    let started = std::time::Instant::now();
    let failed = load(&http, chats, 1_000, 32, chat).await;
    assert!(
        failed.is_empty(),
        "{} of 1,000 chats failed: {:?}",
        failed.len(),
        &failed[..failed.len().min(5)]
    );
    let chatted = started.elapsed();
    let failed = load(&http, retrieves, searches, 64, retrieve).await;
    assert!(
        failed.is_empty(),
        "{} of {searches} retrieves failed: {:?}",
        failed.len(),
        &failed[..failed.len().min(5)]
    );
    let after = rss("ragweave_process_resident_memory_bytes").await;
    let peak = rss("ragweave_process_peak_resident_memory_bytes").await;
    let mib = |b: f64| b / f64::from(1 << 20);
    println!(
        "1,000 chats at 32 in {:.1} s, {searches} retrieves at 64 in {:.1} s, 0 errors; RSS {:.0} MiB -> {:.0} MiB (peak {:.0} MiB)",
        chatted.as_secs_f64(),
        (started.elapsed() - chatted).as_secs_f64(),
        mib(before),
        mib(after),
        mib(peak)
    );
    assert_eq!(
        metric(&http, &server.url, "ragweave_generation_streams_active").await,
        0.0
    );
    // Nothing a request holds outlives it: thousands of requests leave memory where 700 did.
    assert!(
        after < before + f64::from(64 << 20),
        "RSS grew from {:.0} MiB to {:.0} MiB",
        mib(before),
        mib(after)
    );
    stop(server);
}
