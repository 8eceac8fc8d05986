//! The plugin's conformance suite: the OpenAI-compatible plugin against a running
//! `ragweave serve` on loopback, both real, with real engines behind the server (a tiny
//! llama.cpp model the test writes, the real MiniLM, a tiny llama.cpp reranker; the server's
//! own test harness starts it). The plugin passes the testkit suites, and what comes over
//! HTTP equals what the components give in process.

#[path = "../../../crates/ragweave-serve/tests/harness/mod.rs"]
mod harness;

use std::time::Duration;

use ragweave_core::{
    Chunk, EmbedInput, Embedder, GenerateRequest, Generator, Hit, Query, Reranker,
};
use ragweave_openai::{
    OpenAiEmbedder, OpenAiEmbedderOptions, OpenAiGenerator, OpenAiOptions, OpenAiReranker,
};
use ragweave_serve::ServeOptions;

fn options(url: &str) -> OpenAiOptions {
    OpenAiOptions::at(format!("{url}/v1"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plugin_passes_the_suites_over_http() {
    let server = harness::start(ServeOptions::default()).await;
    server.ingest_docs().await;

    // Plain chat with the tiny llama.cpp model, and the pipeline's answers (retrieval, then
    // the same model): both keep the generator contract over SSE.
    for model in ["tiny", "ragweave"] {
        let g = OpenAiGenerator::new(model, options(&server.url)).unwrap();
        let report = ragweave_testkit::generator::check(&g).await;
        println!("{model}: {report:?}");
        report.assert_passed();
    }
    // Greedy text over HTTP is the text in process.
    let mut request = GenerateRequest::user("Tell me about rivers.");
    request.params = harness::greedy(10);
    let local = server.parts.generator.complete(&request).await.unwrap();
    let remote = OpenAiGenerator::new("tiny", options(&server.url))
        .unwrap()
        .complete(&request)
        .await
        .unwrap();
    assert_eq!(remote.text, local.text);
    assert_eq!(remote.tokens, local.tokens);

    let e = OpenAiEmbedder::connect(
        "minilm",
        OpenAiEmbedderOptions {
            endpoint: options(&server.url),
            send_input_type: true,
            ..OpenAiEmbedderOptions::default()
        },
    )
    .await
    .unwrap();
    ragweave_testkit::embedder::check(&e).await.assert_passed();
    // The server reports its embedder's model id, so stores built locally stay searchable.
    assert_eq!(e.model_id(), server.parts.embedder.model_id());
    assert_eq!(e.dimension(), 384);
    let texts: Vec<String> = harness::DOCS.iter().map(|(_, t)| t.to_string()).collect();
    let over_http = e.embed(&texts, EmbedInput::QUERY).await.unwrap();
    let in_process = server
        .parts
        .embedder
        .embed(&texts, EmbedInput::QUERY)
        .await
        .unwrap();
    for (a, b) in over_http.iter().zip(&in_process) {
        let worst = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max);
        assert!(worst < 1e-6, "{worst}");
    }

    let r = OpenAiReranker::new("reranker", options(&server.url)).unwrap();
    ragweave_testkit::reranker::check(&r).await.assert_passed();
    let hits: Vec<Hit> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| Hit::new(Chunk::new(format!("c{i}"), "d", t.as_str()), 0.0, "bm25"))
        .collect();
    let query = Query::new("where do rivers go");
    let remote = r.rerank(&query, hits.clone()).await.unwrap();
    let local = server.parts.reranker.rerank(&query, hits).await.unwrap();
    let ids = |h: &[Hit]| h.iter().map(|h| h.chunk.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&remote), ids(&local));
    for (a, b) in remote.iter().zip(&local) {
        assert!((a.score - b.score).abs() < 1e-6);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plugin_types_what_the_server_refuses() {
    let token = "s3cret-token";
    let server = harness::start(ServeOptions {
        token: Some(token.into()),
        ..ServeOptions::default()
    })
    .await;
    // No key, and a wrong key: 401, not retried.
    for key in [None, Some("wrong")] {
        let mut o = options(&server.url);
        o.api_key = key.map(String::from);
        o.api_key_env = "RAGWEAVE_TEST_NO_SUCH_VARIABLE".into();
        let err = OpenAiGenerator::new("tiny", o)
            .unwrap()
            .complete(&GenerateRequest::user("hi"))
            .await
            .unwrap_err();
        assert!(
            err.report()
                .to_string()
                .contains("refused the API key (401)"),
            "{err}"
        );
        assert!(!err.is_transient());
    }
    let authed = || options(&server.url).api_key(token);
    // An unknown model: NotFound, naming it, with the server's list of models.
    let err = OpenAiGenerator::new("gpt-9", authed())
        .unwrap()
        .complete(&GenerateRequest::user("hi"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ragweave_core::Error::NotFound { what: "model", name } if name.contains("gpt-9")),
        "{err}"
    );
    let endpoint = |o: OpenAiOptions| OpenAiEmbedderOptions {
        endpoint: o,
        ..OpenAiEmbedderOptions::default()
    };
    let err = OpenAiEmbedder::connect("tiny", endpoint(authed()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ragweave_core::Error::NotFound { .. }),
        "{err}"
    );
    // A configured dimension the server contradicts.
    let err = OpenAiEmbedder::connect(
        "minilm",
        OpenAiEmbedderOptions {
            dimension: Some(768),
            ..endpoint(authed())
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            ragweave_core::Error::DimensionMismatch {
                expected: 768,
                actual: 384,
                ..
            }
        ),
        "{err}"
    );
    // Bad sampling is refused before anything is sent.
    let mut bad = GenerateRequest::user("hi");
    bad.params.max_tokens = 0;
    let g = OpenAiGenerator::new("tiny", authed()).unwrap();
    assert!(matches!(
        g.complete(&bad).await,
        Err(ragweave_core::Error::InvalidInput { .. })
    ));
    // So is a stop list over the limit every backend holds to (16 sequences).
    let mut many = GenerateRequest::user("hi");
    many.params.stop = (0..20).map(|i| format!("stop{i}")).collect();
    let err = g.complete(&many).await.unwrap_err();
    assert!(
        matches!(&err, ragweave_core::Error::InvalidInput { field, reason } if field == "sampling.stop" && reason.contains("limit of 16")),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_server_is_retried_after_its_retry_after() {
    let server = harness::start(ServeOptions {
        max_concurrency: 1,
        ..ServeOptions::default()
    })
    .await;
    // Hold the only place with a long stream nobody reads yet.
    let held = server.hold().await;
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(400)).await;
        held.release().await;
    });
    let started = std::time::Instant::now();
    let mut request = GenerateRequest::user("hello");
    request.params = harness::greedy(4);
    let g = OpenAiGenerator::new("tiny", options(&server.url)).unwrap();
    let done = g.complete(&request).await.unwrap();
    release.await.unwrap();
    assert!(!done.text.is_empty());
    // It was refused at least once, and waited the server's Retry-After (1 s), not the
    // policy's 200 ms.
    assert!(server.metric("ragweave_http_overloaded_total").await >= 1.0);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    // With no retries the 503 is a transient typed error carrying the server's words.
    let held = server.hold().await;
    let mut o = options(&server.url);
    o.retry.attempts = 1;
    let err = OpenAiGenerator::new("tiny", o)
        .unwrap()
        .complete(&request)
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert!(
        err.report().to_string().contains("503") && err.report().to_string().contains("limit"),
        "{err}"
    );
    held.release().await;
    // A server that is gone: Unreachable, transient, after the attempts.
    let mut o = OpenAiOptions::at("http://127.0.0.1:9/v1");
    o.retry.attempts = 2;
    o.retry.initial_backoff = Duration::from_millis(1);
    let err = OpenAiGenerator::new("tiny", o)
        .unwrap()
        .complete(&request)
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert!(
        err.report()
            .to_string()
            .contains("gave up after 2 attempts"),
        "{err}"
    );
}
