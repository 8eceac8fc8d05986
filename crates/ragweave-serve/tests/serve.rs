//! `ragweave serve` over real loopback HTTP: answers with citations (whole and streamed),
//! retrieve, ingest, auth, limits, bad input, disconnects, graceful shutdown, metrics and
//! the OpenAPI document.

mod harness;

use std::time::Duration;

use futures::StreamExt;
use ragweave_serve::ServeOptions;
use serde_json::{Value, json};

fn ask(question: &str, stream: bool) -> Value {
    json!({"model": "ragweave", "stream": stream, "passages": 3,
           "messages": [{"role": "user", "content": question}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_cite_retrieved_passages_whole_and_streamed() {
    let server = harness::start(ServeOptions::default()).await;
    let report = server.ingest_docs().await;
    assert_eq!(report["added"], 6, "{report}");

    let hits: Value = server
        .post(
            "/v1/retrieve",
            json!({"query": "where do rivers meet the sea", "top_k": 3, "trace": true}),
        )
        .await
        .json()
        .await
        .unwrap();
    let hit_ids: Vec<&str> = hits["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["chunk_id"].as_str().unwrap())
        .collect();
    assert_eq!(hit_ids.len(), 3);
    assert!(
        ["rivers", "deltas"].contains(&hits["hits"][0]["document_id"].as_str().unwrap()),
        "{hits}"
    );
    assert!(
        hits["trace"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "retrieve:docs")
    );

    let whole = server
        .post(
            "/v1/chat/completions",
            ask("where do rivers meet the sea", false),
        )
        .await;
    assert_eq!(whole.status(), 200);
    let whole: Value = whole.json().await.unwrap();
    assert_eq!(whole["object"], "chat.completion");
    let text = whole["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!text.is_empty());
    assert_eq!(whole["usage"]["completion_tokens"], 16);
    assert_eq!(whole["choices"][0]["finish_reason"], "length");
    let cited: Vec<&str> = whole["citations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["chunk_id"].as_str().unwrap())
        .collect();
    assert_eq!(cited.len(), 3, "{whole}");
    for id in &cited {
        assert!(
            hit_ids.contains(id),
            "cited {id} was not retrieved: {hit_ids:?}"
        );
    }
    assert_eq!(whole["citations"][0]["index"], 1);
    assert!(!whole["citations"][0]["text"].as_str().unwrap().is_empty());

    let streamed = server
        .post(
            "/v1/chat/completions",
            ask("where do rivers meet the sea", true),
        )
        .await;
    assert_eq!(streamed.status(), 200);
    assert_eq!(streamed.headers()["content-type"], "text/event-stream");
    let events = harness::events(streamed).await;
    assert_eq!(events.last().unwrap(), "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let tokens: Vec<&str> = chunks[1..chunks.len() - 1]
        .iter()
        .map(|c| c["choices"][0]["delta"]["content"].as_str().unwrap())
        .collect();
    assert_eq!(tokens.len(), 16, "one event per token");
    assert_eq!(
        tokens.concat(),
        text,
        "greedy: streamed text is the whole text"
    );
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"][0]["finish_reason"], "length");
    let streamed_cited: Vec<&str> = last["citations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["chunk_id"].as_str().unwrap())
        .collect();
    assert_eq!(streamed_cited, cited);
    assert!(chunks.iter().all(|c| c["id"] == chunks[0]["id"]));

    // History and sampling from the request reach the generator; a filter reaches retrieval.
    let filtered: Value = server
        .post(
            "/v1/chat/completions",
            json!({"model": "ragweave", "max_tokens": 3, "filter": {"eq": {"field": "topic", "value": "bread"}},
                   "stream_options": {"include_usage": true},
                   "messages": [{"role": "system", "content": "Be brief."},
                                {"role": "user", "content": "hello"},
                                {"role": "assistant", "content": "hi"},
                                {"role": "user", "content": [{"type": "text", "text": "where do rivers go"}]}]}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(filtered["usage"]["completion_tokens"], 3, "{filtered}");
    let docs: Vec<&str> = filtered["citations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["document_id"].as_str().unwrap())
        .collect();
    assert_eq!(docs, ["bread"]);

    let models: Value = server
        .http
        .get(format!("{}/v1/models", server.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ragweave", "tiny", "minilm", "reranker"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_diffs_documents_and_refuses_bad_ones_whole() {
    let server = harness::start(ServeOptions::default()).await;
    let first = server.ingest_docs().await;
    let stored = first["stored_chunks"].as_u64().unwrap();
    assert_eq!(stored, 6);
    let again = server.ingest_docs().await;
    assert_eq!(
        (
            again["unchanged"].as_u64(),
            again["chunks_written"].as_u64()
        ),
        (Some(6), Some(0))
    );
    let changed: Value = server
        .post(
            "/v1/ingest",
            json!({"documents": [{"id": "bread", "text": "Sourdough rises slowly with wild yeast."}]}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            changed["updated"].as_u64(),
            changed["chunks_deleted"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(changed["stored_chunks"].as_u64(), Some(stored));
    // One blank text refuses the whole request; nothing is written.
    let bad = server
        .post(
            "/v1/ingest",
            json!({"documents": [{"id": "new", "text": "fresh text"}, {"id": "x", "text": "  "}]}),
        )
        .await;
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["error"]["param"], "documents[1].text");
    let count: Value = server.post("/v1/ingest", json!({"documents": [{"id": "bread", "text": "Sourdough rises slowly with wild yeast."}]})).await.json().await.unwrap();
    assert_eq!(
        count["stored_chunks"].as_u64(),
        Some(stored),
        "the refused request wrote nothing"
    );
    for (body, param) in [
        (json!({"documents": []}), "documents"),
        (
            json!({"documents": [{"id": " ", "text": "t"}]}),
            "documents[0].id",
        ),
        (json!({"documents": [{"id": "a"}]}), "documents[0]"),
        (
            json!({"documents": [{"id": "a", "text": "t", "colour": 1}]}),
            "documents[0].colour",
        ),
        // File ingestion's ids: an upload under one could be removed by a folder's run.
        (
            json!({"documents": [{"id": "a", "text": "t"}, {"id": "file:///srv/docs/a.md", "text": "t"}]}),
            "documents[1].id",
        ),
    ] {
        let r = server.post("/v1/ingest", body.clone()).await;
        assert_eq!(r.status(), 400, "{body}");
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["error"]["param"], param, "{e}");
    }

    // Many documents, each just under its own metadata budget, are still one body: refused
    // for the values it holds in all, before any is built.
    let zeros: Vec<u8> = vec![0; 1000];
    let documents: Vec<Value> = (0..300)
        .map(|i| json!({"id": format!("m{i}"), "text": "t", "metadata": {"a": zeros}}))
        .collect();
    let r = server
        .post("/v1/ingest", json!({ "documents": documents }))
        .await;
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("too complex"),
        "{e}"
    );

    // A server without a store says so.
    let no_store = harness::start_with(ServeOptions::default(), false).await;
    let r = no_store
        .post(
            "/v1/ingest",
            json!({"documents": [{"id": "a", "text": "t"}]}),
        )
        .await;
    assert_eq!(r.status(), 501);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "ingest_disabled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_limits_and_bad_input_get_their_status_and_the_server_stays_up() {
    let server = harness::start(ServeOptions {
        token: Some("tok".into()),
        max_body_bytes: 4096,
        max_concurrency: 1,
        ..ServeOptions::default()
    })
    .await;
    let url = |p: &str| format!("{}{p}", server.url);
    let send = |path: &str, body: &str, token: Option<&str>, content_type: &str| {
        let mut r = server
            .http
            .post(url(path))
            .header("content-type", content_type)
            .body(body.to_string());
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    let error = |r: reqwest::Response| async move {
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap();
        (status, body["error"].clone())
    };
    let json = "application/json";

    // 401 without the token or with a wrong one; health and the OpenAPI document are open.
    let r = send("/v1/retrieve", r#"{"query":"rivers"}"#, None, json)
        .await
        .unwrap();
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    let (s, e) = error(r).await;
    assert_eq!((s, e["type"].as_str()), (401, Some("authentication_error")));
    let (s, _) = error(
        send("/v1/retrieve", r#"{"query":"rivers"}"#, Some("toc"), json)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 401);
    for open in ["/healthz", "/openapi.json"] {
        assert_eq!(
            server.http.get(url(open)).send().await.unwrap().status(),
            200,
            "{open}"
        );
    }
    let metrics = server.http.get(url("/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), 401);
    let ok = send("/v1/retrieve", r#"{"query":"rivers"}"#, Some("tok"), json)
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);

    // 413 past the body limit, 415 for a body that is not JSON.
    let big = format!(r#"{{"query":"{}"}}"#, "x".repeat(5000));
    let (s, e) = error(send("/v1/retrieve", &big, Some("tok"), json).await.unwrap()).await;
    assert_eq!((s, e["code"].as_str()), (413, Some("body_too_large")));
    let (s, _) = error(
        send("/v1/retrieve", "query=rivers", Some("tok"), "text/plain")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 415);

    // 400 naming the line, or the field.
    let (s, e) = error(
        send("/v1/retrieve", r#"{"query": "#, Some("tok"), json)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        e["message"].as_str().unwrap().contains("malformed JSON"),
        "{e}"
    );
    assert!(e["message"].as_str().unwrap().contains("line 1"), "{e}");
    let cases = [
        (
            "/v1/retrieve",
            json!({"top_k": 3}),
            "missing field `query`",
            "",
        ),
        (
            "/v1/retrieve",
            json!({"query": "r", "top_k": 0}),
            "must be 1 to",
            "top_k",
        ),
        ("/v1/retrieve", json!({"query": "  "}), "blank", "query"),
        (
            "/v1/retrieve",
            json!({"query": "r", "top_k": "3"}),
            "invalid type",
            "top_k",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "ragweave", "messages": []}),
            "empty",
            "messages",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "tiny", "max_tokens": 0, "messages": [{"role": "user", "content": "hi"}]}),
            "at least 1",
            "max_tokens",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "tiny", "temperature": -1, "messages": [{"role": "user", "content": "hi"}]}),
            ">= 0",
            "temperature",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "tiny", "n": 2, "messages": [{"role": "user", "content": "hi"}]}),
            "n = 1",
            "n",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "tiny", "stop": ["x".repeat(1025)], "messages": [{"role": "user", "content": "hi"}]}),
            "bytes of stop sequences",
            "stop",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "tiny", "stop": vec!["s"; 17], "messages": [{"role": "user", "content": "hi"}]}),
            "17 stop sequences",
            "stop",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "tiny", "messages": [{"role": "tool", "content": "x"}]}),
            "not served",
            "messages[0].role",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "tiny", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]}),
            "image_url",
            "messages[0].content[0]",
        ),
        (
            "/v1/chat/completions",
            json!({"model": "ragweave", "messages": [{"role": "assistant", "content": "hi"}]}),
            "last message",
            "messages",
        ),
        (
            "/v1/embeddings",
            json!({"model": "minilm", "input": ["ok", ""]}),
            "blank",
            "input[1]",
        ),
        (
            "/v1/embeddings",
            json!({"model": "minilm", "input": "ok", "dimensions": 12}),
            "384",
            "dimensions",
        ),
        (
            "/v1/embeddings",
            json!({"model": "minilm", "input": "ok", "encoding_format": "base64"}),
            "float",
            "encoding_format",
        ),
        (
            "/v1/rerank",
            json!({"model": "reranker", "query": "", "documents": ["a"]}),
            "blank",
            "query",
        ),
    ];
    for (path, body, says, param) in cases {
        let r = send(path, &body.to_string(), Some("tok"), json)
            .await
            .unwrap();
        let (s, e) = error(r).await;
        assert_eq!(s, 400, "{path} {body}: {e}");
        assert!(
            e["message"].as_str().unwrap().contains(says),
            "{path} {body}: {e}"
        );
        if !param.is_empty() {
            assert_eq!(e["param"], param, "{path} {body}: {e}");
        }
    }
    // 404 for an unknown model (listing the served ones) and an unknown route; 405.
    let (s, e) = error(
        send(
            "/v1/chat/completions",
            r#"{"model":"gpt-9","messages":[{"role":"user","content":"hi"}]}"#,
            Some("tok"),
            json,
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!((s, e["code"].as_str()), (404, Some("model_not_found")));
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("served: ragweave, tiny, minilm, reranker"),
        "{e}"
    );
    let (s, _) = error(
        send(
            "/v1/embeddings",
            r#"{"model":"tiny","input":"x"}"#,
            Some("tok"),
            json,
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = error(send("/v2/nothing", "{}", Some("tok"), json).await.unwrap()).await;
    assert_eq!(s, 404);
    let (s, _) = error(
        server
            .http
            .get(url("/v1/retrieve"))
            .bearer_auth("tok")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 405);

    // 503 at once past the concurrency limit, with Retry-After; the place frees after.
    let held = server.hold().await;
    let r = send("/v1/retrieve", r#"{"query":"rivers"}"#, Some("tok"), json)
        .await
        .unwrap();
    assert_eq!(r.headers()["retry-after"], "1");
    let (s, e) = error(r).await;
    assert_eq!((s, e["code"].as_str()), (503, Some("overloaded")));
    held.release().await;
    server.settle().await;
    let ok = send("/v1/retrieve", r#"{"query":"rivers"}"#, Some("tok"), json)
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);

    // Every refusal is counted, and the server is still up.
    let text = server
        .http
        .get(url("/metrics"))
        .bearer_auth("tok")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "ragweave_http_requests_total{route=\"/v1/retrieve\",status=\"401\"} 2",
        "ragweave_http_requests_total{route=\"/v1/retrieve\",status=\"413\"} 1",
        "ragweave_http_requests_total{route=\"/v1/retrieve\",status=\"503\"} 1",
        "ragweave_http_requests_total{route=\"/v1/chat/completions\",status=\"404\"} 1",
        "ragweave_http_overloaded_total 1",
    ] {
        assert!(text.contains(line), "no `{line}` in\n{text}");
    }
    assert_eq!(
        server
            .http
            .get(url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_leaves_mid_stream_stops_the_generation() {
    let server = harness::start(ServeOptions::default()).await;
    let mut bytes = server.long_stream().await;
    let mut seen = 0;
    while seen < 3 {
        seen += bytes
            .next()
            .await
            .unwrap()
            .unwrap()
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            / 2;
    }
    drop(bytes);
    // The server notices at its next write and drops the generation: nothing is active, it
    // counts as cancelled, and the token count stops well short of 1,500.
    let mut active = 1.0;
    for _ in 0..400 {
        active = server.metric("ragweave_generation_streams_active").await;
        if active == 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(active, 0.0);
    assert_eq!(
        server
            .metric("ragweave_generation_streams_cancelled_total")
            .await,
        1.0
    );
    let tokens = server.metric("ragweave_generated_tokens_total").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        server.metric("ragweave_generated_tokens_total").await,
        tokens
    );
    assert!(tokens < 1500.0, "{tokens} tokens were generated");
    // And the generator is free for the next request.
    let next = server
        .post("/v1/chat/completions", json!({"model": "tiny", "max_tokens": 4, "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    assert_eq!(next.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_generator_thread_ends_open_streams_with_an_error_and_is_replaced() {
    let server = harness::start(ServeOptions::default()).await;
    let mut bytes = server.long_stream().await;
    let mut text = String::from_utf8(bytes.next().await.unwrap().unwrap().to_vec()).unwrap();
    server.parts.llama.panic_worker().unwrap();
    while let Some(b) = bytes.next().await {
        text.push_str(std::str::from_utf8(&b.unwrap()).unwrap());
    }
    let events: Vec<Value> = text
        .split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let last = events.last().unwrap();
    assert!(last["error"].is_object(), "the stream ended with {last}");
    assert!(
        events
            .iter()
            .all(|e| e["choices"][0]["finish_reason"].is_null()),
        "a cut stream was reported finished: {text}"
    );
    assert!(!text.ends_with("data: [DONE]\n\n"), "{text}");
    // `/healthz` replaces the thread (once the old one has finished), reports healthy, and
    // the server answers.
    for _ in 0..500 {
        let health = server
            .http
            .get(format!("{}/healthz", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), 200);
        if server.parts.llama.worker_restarts() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(server.parts.llama.worker_restarts(), 1);
    let next = server
        .post("/v1/chat/completions", json!({"model": "tiny", "max_tokens": 4, "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    assert_eq!(next.status(), 200);
    let active = server.metric("ragweave_generation_streams_active").await;
    assert_eq!(active, 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_in_flight_streams_finish_then_refuses_connections() {
    let mut server = harness::start(ServeOptions::default()).await;
    let mut bytes = server.long_stream().await;
    let mut text = String::from_utf8(bytes.next().await.unwrap().unwrap().to_vec()).unwrap();
    // A request whose body is still arriving is in flight too.
    let held = server.slow_body().await;
    server.stop.take().unwrap().send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !server.done.is_finished(),
        "stopped with requests in flight"
    );
    held.release().await;
    while let Some(b) = bytes.next().await {
        text.push_str(std::str::from_utf8(&b.unwrap()).unwrap());
    }
    assert!(
        text.ends_with("data: [DONE]\n\n"),
        "the stream was cut: {:?}",
        &text[text.len().saturating_sub(200)..]
    );
    // Every token arrived: as many as the same greedy request gives in process.
    let streamed: String = text
        .split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .filter_map(|d| {
            let v: Value = serde_json::from_str(d).unwrap();
            v["choices"][0]["delta"]["content"]
                .as_str()
                .map(String::from)
        })
        .collect();
    let mut same = ragweave_core::GenerateRequest::user("go on and on");
    same.params = harness::greedy(1500);
    let expected = server.parts.generator.complete(&same).await.unwrap();
    assert_eq!(streamed, expected.text);
    assert_eq!(
        expected.tokens, 1500,
        "a generation that outlasts the shutdown signal"
    );
    let finished = tokio::time::timeout(Duration::from_secs(10), &mut server.done).await;
    assert!(matches!(finished, Ok(Ok(Ok(())))), "{finished:?}");
    let refused = reqwest::Client::new()
        .get(format!("{}/healthz", server.url))
        .send()
        .await;
    assert!(refused.is_err(), "still accepting after shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_what_is_served() {
    let server = harness::start(ServeOptions::default()).await;
    let doc: Value = server
        .http
        .get(format!("{}/openapi.json", server.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/v1/chat/completions",
        "/v1/embeddings",
        "/v1/rerank",
        "/v1/retrieve",
        "/v1/ingest",
    ] {
        assert!(
            doc["paths"][path]["post"]["responses"]["413"].is_object(),
            "{path}"
        );
    }
    for path in ["/v1/models", "/healthz", "/metrics", "/openapi.json"] {
        assert!(doc["paths"][path]["get"].is_object(), "{path}");
    }
    // The request schemas accept what the server accepts and refuse what it refuses.
    let schema_of = |path: &str| {
        let mut s =
            doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
                .clone();
        s["components"] = doc["components"].clone();
        jsonschema::validator_for(&s).unwrap()
    };
    let chat = schema_of("/v1/chat/completions");
    assert!(chat.is_valid(&ask("hi", true)));
    assert!(chat.is_valid(&json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}], "stop": "x"})));
    assert!(!chat.is_valid(&json!({"messages": []})));
    let retrieve = schema_of("/v1/retrieve");
    assert!(retrieve.is_valid(
        &json!({"query": "q", "top_k": 3, "filter": {"eq": {"field": "topic", "value": "bread"}}})
    ));
    assert!(!retrieve.is_valid(&json!({"query": "q", "colour": 1})));
    let ingest = schema_of("/v1/ingest");
    assert!(
        ingest.is_valid(&json!({"documents": [{"id": "a", "text": "t", "metadata": {"k": 1}}]}))
    );
    assert!(!ingest.is_valid(&json!({"documents": [{"id": "a"}]})));
    // And a real reply validates against its reply schema.
    let mut reply_schema = doc["paths"]["/v1/retrieve"]["post"]["responses"]["200"]["content"]["application/json"]["schema"].clone();
    reply_schema["components"] = doc["components"].clone();
    server.ingest_docs().await;
    let reply: Value = server
        .post("/v1/retrieve", json!({"query": "rivers"}))
        .await
        .json()
        .await
        .unwrap();
    let v = jsonschema::validator_for(&reply_schema).unwrap();
    assert!(v.is_valid(&reply), "{reply}");
}

/// Raw bytes to `url`'s host and port, and what comes back until the server closes (or
/// `wait` passes).
async fn raw(url: &str, request: &[u8], wait: Duration) -> (String, Duration) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = url.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
    let started = std::time::Instant::now();
    socket.write_all(request).await.unwrap();
    let mut reply = Vec::new();
    let _ = tokio::time::timeout(wait, socket.read_to_end(&mut reply)).await;
    (
        String::from_utf8_lossy(&reply).into_owned(),
        started.elapsed(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_clients_cannot_starve_the_server() {
    use tokio::io::AsyncWriteExt;
    let limit = 4;
    let server = harness::start(ServeOptions {
        token: Some("tok".into()),
        max_concurrency: limit,
        header_read_timeout: Duration::from_secs(2),
        body_read_timeout: Duration::from_secs(2),
        ..ServeOptions::default()
    })
    .await;
    let address = server.url.trim_start_matches("http://").to_string();
    // Twice the concurrency limit in clients that send a body a byte at a time, and as many
    // again that connect and send nothing, or half a header.
    let mut slow = Vec::new();
    for _ in 0..2 * limit {
        let address = address.clone();
        slow.push(tokio::spawn(async move {
            let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
            let head = "POST /v1/retrieve HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer tok\r\n\
                        content-type: application/json\r\ncontent-length: 200\r\n\r\n";
            socket.write_all(head.as_bytes()).await.unwrap();
            let started = std::time::Instant::now();
            let mut reply = Vec::new();
            for _ in 0..200 {
                if socket.write_all(b" ").await.is_err() {
                    break;
                }
                let mut buf = [0u8; 4096];
                match tokio::time::timeout(Duration::from_millis(100), tokio::io::AsyncReadExt::read(&mut socket, &mut buf)).await {
                    Ok(Ok(0)) | Ok(Err(_)) => break,
                    Ok(Ok(n)) => reply.extend_from_slice(&buf[..n]),
                    Err(_) => {}
                }
            }
            (String::from_utf8_lossy(&reply).into_owned(), started.elapsed())
        }));
    }
    let mut idle = Vec::new();
    for i in 0..2 * limit {
        let request: &'static [u8] = if i % 2 == 0 {
            b""
        } else {
            b"GET /healthz HTTP/1.1\r\nho"
        };
        let url = server.url.clone();
        idle.push(tokio::spawn(async move {
            raw(&url, request, Duration::from_secs(8)).await
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Health and an authenticated retrieve still answer at once.
    let started = std::time::Instant::now();
    let health = server
        .http
        .get(format!("{}/healthz", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let hits = server
        .http
        .post(format!("{}/v1/retrieve", server.url))
        .bearer_auth("tok")
        .json(&json!({"query": "where do rivers meet the sea"}))
        .send()
        .await
        .unwrap();
    assert_eq!(hits.status(), 200);
    let answered = started.elapsed();
    println!(
        "health + retrieve beside {} slow and {} idle clients: {answered:?}",
        2 * limit,
        2 * limit
    );
    assert!(answered < Duration::from_secs(1), "{answered:?}");

    // The slow bodies are cut off at the body timeout with 408; idle and half-sent
    // connections are closed at the header timeout.
    for client in slow {
        let (reply, took) = client.await.unwrap();
        assert!(reply.starts_with("HTTP/1.1 408"), "{took:?}: {reply}");
        assert!(took < Duration::from_secs(5), "{took:?}");
    }
    for client in idle {
        let (_, took) = client.await.unwrap();
        assert!(
            took < Duration::from_secs(5),
            "an idle socket stayed open {took:?}"
        );
    }
    assert_eq!(server.metric("ragweave_http_overloaded_total").await, 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_only_loopback_names_are_served() {
    let server = harness::start(ServeOptions {
        allowed_hosts: vec!["rag.internal".into()],
        ..ServeOptions::default()
    })
    .await;
    let get = |host: &str| {
        format!("GET /v1/models HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n")
    };
    let port = server.url.rsplit(':').next().unwrap().to_string();
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "[::1]".into(),
        "rag.internal:80".into(),
    ] {
        let (reply, _) = raw(&server.url, get(&host).as_bytes(), Duration::from_secs(5)).await;
        assert!(reply.starts_with("HTTP/1.1 200"), "{host}: {reply}");
    }
    // A page on a rebound name reaches the loopback port but names its own host.
    for host in [
        "evil.example",
        "evil.example:8080",
        "localhost.evil.example",
        "",
    ] {
        let (reply, _) = raw(&server.url, get(host).as_bytes(), Duration::from_secs(5)).await;
        assert!(reply.starts_with("HTTP/1.1 421"), "{host}: {reply}");
        assert!(reply.contains("host_not_allowed"), "{reply}");
    }

    // And a server without a token does not listen beyond loopback unless told to.
    let open = ServeOptions::default();
    let e = open
        .check_exposure("0.0.0.0:8080".parse().unwrap())
        .unwrap_err();
    assert!(e.to_string().contains("without a token"), "{e}");
    open.check_exposure("127.0.0.1:8080".parse().unwrap())
        .unwrap();
    let tokened = ServeOptions {
        token: Some("t".into()),
        ..ServeOptions::default()
    };
    tokened
        .check_exposure("0.0.0.0:8080".parse().unwrap())
        .unwrap();
    let allowed = ServeOptions {
        allow_public_without_token: true,
        ..ServeOptions::default()
    };
    allowed
        .check_exposure("0.0.0.0:8080".parse().unwrap())
        .unwrap();
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let pipeline = bm25_only();
    let served = ragweave_serve::Served::with_ingestor(
        ragweave_core::config::BuiltPipeline::new(pipeline),
        None,
    );
    let refused = ragweave_serve::Server::new(served, open)
        .run(listener, std::future::pending())
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::InvalidInput);
    // Debug never shows the token.
    assert!(!format!("{tokened:?}").contains("\"t\""), "{tokened:?}");
}

/// A pipeline over an empty BM25 index: for tests of the server's edges, not its answers.
fn bm25_only() -> ragweave_core::Pipeline {
    ragweave_core::Pipeline::builder()
        .expert(
            "bm25",
            std::sync::Arc::new(ragweave_core::Bm25Index::new(Default::default())),
        )
        .build()
        .unwrap()
}

/// A server on loopback over an empty BM25 pipeline with `generators` by name: its URL,
/// metrics, stop signal and task.
async fn serve_generators(
    generators: Vec<(&str, std::sync::Arc<dyn ragweave_core::Generator>)>,
) -> (
    String,
    std::sync::Arc<ragweave_serve::Metrics>,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let mut built = ragweave_core::config::BuiltPipeline::new(bm25_only());
    for (name, generator) in generators {
        built.components.add(name, generator);
    }
    let server = ragweave_serve::Server::new(
        ragweave_serve::Served::with_ingestor(built, None),
        ServeOptions::default(),
    );
    let metrics = server.metrics();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let done = tokio::spawn(server.run(listener, async {
        let _ = stopped.await;
    }));
    (url, metrics, stop, done)
}

/// A generator with a bug: it panics.
struct Panicking;

#[ragweave_core::async_trait]
impl ragweave_core::Generator for Panicking {
    fn name(&self) -> &str {
        "boom"
    }
    async fn stream(
        &self,
        _: &ragweave_core::GenerateRequest,
    ) -> ragweave_core::Result<ragweave_core::TokenStream> {
        panic!("a bug in the engine at /srv/secret/path");
    }
}

/// A generator whose engine is gone for good.
struct Broken;

#[ragweave_core::async_trait]
impl ragweave_core::Generator for Broken {
    fn name(&self) -> &str {
        "broken"
    }
    async fn stream(
        &self,
        _: &ragweave_core::GenerateRequest,
    ) -> ragweave_core::Result<ragweave_core::TokenStream> {
        Err(ragweave_core::Error::component("broken", "gone"))
    }
    async fn health(&self) -> ragweave_core::Result<()> {
        Err(ragweave_core::Error::component(
            "broken",
            "no context at /srv/secret/model.gguf",
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_names_an_unhealthy_generator_without_its_reasons() {
    let (url, _, stop, done) = serve_generators(vec![
        ("fine", std::sync::Arc::new(Panicking)),
        ("broken", std::sync::Arc::new(Broken)),
    ])
    .await;
    let health = reqwest::get(format!("{url}/healthz")).await.unwrap();
    assert_eq!(health.status(), 503);
    let body: Value = health.json().await.unwrap();
    assert_eq!(
        body,
        json!({"status": "unhealthy", "unhealthy": ["broken"]})
    );
    stop.send(()).unwrap();
    done.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_answers_500_and_the_counts_stay_right() {
    let (url, metrics, stop, done) =
        serve_generators(vec![("boom", std::sync::Arc::new(Panicking))]).await;
    let http = reqwest::Client::new();
    for _ in 0..3 {
        let r = http
            .post(format!("{url}/v1/chat/completions"))
            .json(&json!({"model": "boom", "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 500);
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["error"]["code"], "internal", "{e}");
        assert!(!e.to_string().contains("/srv/secret"), "{e}");
    }
    let text = metrics.render();
    for line in [
        "ragweave_http_requests_total{route=\"/v1/chat/completions\",status=\"500\"} 3",
        "ragweave_http_requests_in_flight 0",
    ] {
        assert!(text.contains(line), "no `{line}` in\n{text}");
    }
    let health = http.get(format!("{url}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    stop.send(()).unwrap();
    done.await.unwrap().unwrap();
}
