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

[reranker]
kind = "llama_cpp_reranker"
model = "tiny-reranker.gguf"
"#,
            minilm.display()
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
            .starts_with("docs/"),
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
