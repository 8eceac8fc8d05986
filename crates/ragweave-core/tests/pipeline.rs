//! Composition tests of the pipeline, with fixture components.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use ragweave_core::{
    AskEvent, AskRequest, ContextBudget, Error, ExpertFailure, GenerateRequest, Generator,
    HashingEmbedder, LongContextReorder, PilotRouter, Pipeline, Result, StageTimeouts, TokenStream,
    WindowMemory,
};
use ragweave_testkit::fixtures::{
    FailingRetriever, PassThroughReranker, ScriptedGenerator, StaticRetriever,
};

/// Replies with the rendered prompt, so tests can see what the generator was shown.
struct EchoGenerator;

#[async_trait]
impl Generator for EchoGenerator {
    fn name(&self) -> &str {
        "echo-generator"
    }

    async fn stream(&self, request: &GenerateRequest) -> Result<TokenStream> {
        request.params.validate()?;
        let text: Vec<String> = request
            .messages
            .iter()
            .map(|m| format!("<{:?}>{}", m.role, m.content))
            .collect();
        Ok(futures::stream::iter(vec![Ok(text.join("\n"))]).boxed())
    }
}

fn ids(hits: &[ragweave_core::Hit]) -> Vec<&str> {
    hits.iter().map(|h| h.chunk.id.as_str()).collect()
}

#[tokio::test]
async fn retrieval_only_fuses_experts_with_rrf() {
    let p = Pipeline::builder()
        .expert("a", Arc::new(StaticRetriever::ids("a", &["x", "y", "z"])))
        .expert("b", Arc::new(StaticRetriever::ids("b", &["y", "w"])))
        .build()
        .unwrap();
    let answer = p.ask("question").await.unwrap();
    assert_eq!(ids(&answer.hits), ["y", "x", "w", "z"]);
    assert_eq!(answer.hits[0].retriever, "b+a");
    assert!(answer.text.is_empty() && answer.citations.is_empty());
    for stage in ["retrieve:a", "retrieve:b", "fuse"] {
        assert!(
            answer.trace.stage(stage).is_some(),
            "missing {stage}: {:?}",
            answer.trace
        );
    }
    assert!(answer.trace.stage("generate").is_none());
}

#[tokio::test]
async fn answer_cites_passages_in_long_context_order() {
    let p = Pipeline::builder()
        .expert(
            "a",
            Arc::new(StaticRetriever::ids("a", &["d1", "d2", "d3", "d4", "d5"])),
        )
        .arranger(Arc::new(LongContextReorder {
            budget: ContextBudget {
                max_passages: Some(4),
                ..Default::default()
            },
        }))
        .reranker(Arc::new(PassThroughReranker))
        .generator(Arc::new(EchoGenerator))
        .build()
        .unwrap();
    let answer = p.ask(AskRequest::new("which?").top_k(5)).await.unwrap();
    let cited: Vec<_> = answer
        .citations
        .iter()
        .map(|c| c.chunk_id.as_str())
        .collect();
    assert_eq!(cited, ["d1", "d3", "d4", "d2"]);
    assert_eq!(answer.citations[0].index, 1);
    assert!(
        answer
            .text
            .contains("[1] d1\n\n[2] d3\n\n[3] d4\n\n[4] d2\n\nQuestion: which?"),
        "{}",
        answer.text
    );
    assert_eq!(
        ids(&answer.hits),
        ["d1", "d2", "d3", "d4", "d5"],
        "hits stay in rank order"
    );
    for stage in ["rerank", "arrange", "prompt", "generate"] {
        assert!(answer.trace.stage(stage).is_some(), "missing {stage}");
    }
}

#[tokio::test]
async fn stream_yields_hits_tokens_then_the_answer() {
    let g = ScriptedGenerator::new("the answer is 42");
    let p = Pipeline::builder()
        .expert("a", Arc::new(StaticRetriever::ids("a", &["c1"])))
        .generator(Arc::new(g))
        .build()
        .unwrap();
    let events: Vec<AskEvent> = p.ask_stream("q").map(|e| e.unwrap()).collect().await;
    assert!(matches!(&events[0], AskEvent::Hits(h) if h.len() == 1));
    let tokens: String = events
        .iter()
        .filter_map(|e| match e {
            AskEvent::Token(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(tokens, "the answer is 42");
    let AskEvent::Done(answer) = events.last().unwrap() else {
        panic!("last event is not Done")
    };
    assert_eq!(answer.text, tokens);
    assert_eq!(answer.citations.len(), 1);
    assert!(answer.trace.stage("generate").is_some());
}

#[tokio::test]
async fn failing_expert_is_skipped_and_noted() {
    let p = Pipeline::builder()
        .expert("good", Arc::new(StaticRetriever::ids("good", &["x"])))
        .expert("bad", Arc::new(FailingRetriever("bad".into())))
        .build()
        .unwrap();
    let answer = p.ask("q").await.unwrap();
    assert_eq!(ids(&answer.hits), ["x"]);
    let note = &answer.trace.stage("retrieve:bad").unwrap().notes[0];
    assert!(
        note.contains("failed") && note.contains("connection refused"),
        "{note}"
    );
}

#[tokio::test]
async fn failing_expert_fails_the_query_when_configured() {
    let p = Pipeline::builder()
        .expert("good", Arc::new(StaticRetriever::ids("good", &["x"])))
        .expert("bad", Arc::new(FailingRetriever("bad".into())))
        .expert_failure(ExpertFailure::Fail)
        .build()
        .unwrap();
    let err = p.ask("q").await.unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert!(err.to_string().contains("bad"), "{err}");
}

#[tokio::test]
async fn all_experts_failing_is_a_typed_error() {
    let p = Pipeline::builder()
        .expert("a", Arc::new(FailingRetriever("a".into())))
        .expert("b", Arc::new(FailingRetriever("b".into())))
        .build()
        .unwrap();
    match p.ask("q").await {
        Err(Error::AllExpertsFailed { count: 2, .. }) => {}
        other => panic!("expected AllExpertsFailed, got {other:?}"),
    }
}

#[tokio::test]
async fn generator_error_mid_stream_ends_the_stream_with_an_error() {
    let p = Pipeline::builder()
        .expert("a", Arc::new(StaticRetriever::ids("a", &["x"])))
        .generator(Arc::new(
            ScriptedGenerator::new("one two three four").fail_after(2),
        ))
        .build()
        .unwrap();
    let events: Vec<_> = p.ask_stream("q").collect().await;
    assert_eq!(events.len(), 4, "hits, two tokens, error");
    let err = events[3].as_ref().unwrap_err();
    assert!(
        matches!(err, Error::Component { .. }) && err.report().to_string().contains("mid-stream"),
        "{err}"
    );
    assert!(p.ask("q").await.is_err(), "ask reports it too");
}

#[tokio::test(start_paused = true)]
async fn slow_expert_times_out_and_is_skipped() {
    let p = Pipeline::builder()
        .expert("fast", Arc::new(StaticRetriever::ids("fast", &["x"])))
        .expert(
            "slow",
            Arc::new(StaticRetriever::ids("slow", &["y"]).delayed(Duration::from_secs(5))),
        )
        .timeouts(StageTimeouts {
            retrieve: Some(Duration::from_millis(100)),
            ..Default::default()
        })
        .build()
        .unwrap();
    let answer = p.ask("q").await.unwrap();
    assert_eq!(ids(&answer.hits), ["x"]);
    let note = &answer.trace.stage("retrieve:slow").unwrap().notes[0];
    assert!(note.contains("timed out"), "{note}");
}

#[tokio::test(start_paused = true)]
async fn slow_generation_times_out_in_ask_and_stream() {
    let p = Pipeline::builder()
        .expert("a", Arc::new(StaticRetriever::ids("a", &["x"])))
        .generator(Arc::new(
            ScriptedGenerator::new("a b c d e f").delay(Duration::from_secs(1)),
        ))
        .timeouts(StageTimeouts {
            generate: Some(Duration::from_millis(2500)),
            ..Default::default()
        })
        .build()
        .unwrap();
    match p.ask("q").await {
        Err(Error::Timeout { stage, .. }) => assert_eq!(stage, "generate"),
        other => panic!("expected a timeout, got {other:?}"),
    }
    let events: Vec<_> = p.ask_stream("q").collect().await;
    let tokens = events
        .iter()
        .filter(|e| matches!(e, Ok(AskEvent::Token(_))))
        .count();
    assert_eq!(tokens, 2, "two tokens fit in 2.5 s");
    assert!(matches!(events.last(), Some(Err(Error::Timeout { .. }))));
}

#[tokio::test]
async fn dropping_the_stream_cancels_generation() {
    let g = ScriptedGenerator::new("one two three four five six");
    let p = Pipeline::builder()
        .expert("a", Arc::new(StaticRetriever::ids("a", &["x"])))
        .generator(Arc::new(g.clone()))
        .build()
        .unwrap();
    let mut stream = p.ask_stream("q");
    assert!(matches!(stream.next().await, Some(Ok(AskEvent::Hits(_)))));
    assert!(matches!(stream.next().await, Some(Ok(AskEvent::Token(_)))));
    drop(stream);
    tokio::task::yield_now().await;
    assert_eq!(g.produced(), 1, "no token is made after the drop");
    assert_eq!(
        g.dropped_early(),
        1,
        "the generator's stream was dropped with ours"
    );
}

#[tokio::test]
async fn bad_input_is_a_typed_error() {
    let p = Pipeline::builder()
        .expert("a", Arc::new(StaticRetriever::ids("a", &["x"])))
        .build()
        .unwrap();
    for (req, field) in [
        (AskRequest::new("  "), "query.text"),
        (AskRequest::new("q").top_k(0), "query.top_k"),
    ] {
        match p.ask(req).await {
            Err(Error::InvalidInput { field: f, .. }) => assert_eq!(f, field),
            other => panic!("expected InvalidInput for {field}, got {other:?}"),
        }
    }
    let embedder = Arc::new(HashingEmbedder::new(16));
    let no_experts = Pipeline::builder()
        .router(Arc::new(PilotRouter::new(embedder)))
        .generator(Arc::new(EchoGenerator))
        .build();
    assert!(matches!(no_experts, Err(Error::Config { ref path, .. }) if path == "router"));
    assert!(matches!(
        Pipeline::builder().build(),
        Err(Error::Config { .. })
    ));
    let dup = Pipeline::builder()
        .expert("a", Arc::new(StaticRetriever::ids("a", &["x"])))
        .expert("a", Arc::new(StaticRetriever::ids("a", &["x"])))
        .build();
    assert!(matches!(dup, Err(Error::Config { ref path, .. }) if path == "experts.a"));
}

#[tokio::test]
async fn router_runs_only_the_chosen_expert() {
    let embedder = Arc::new(HashingEmbedder::new(256));
    let router = PilotRouter::new(embedder);
    router
        .add_expert_from_queries("biology", &["protein folding in cells", "gene expression"])
        .await
        .unwrap();
    router
        .add_expert_from_queries("law", &["contract breach damages", "supreme court ruling"])
        .await
        .unwrap();
    // The law expert would fail the query if it ran.
    let p = Pipeline::builder()
        .expert(
            "biology",
            Arc::new(StaticRetriever::ids("biology", &["cell"])),
        )
        .expert("law", Arc::new(FailingRetriever("law".into())))
        .router(Arc::new(router))
        .expert_failure(ExpertFailure::Fail)
        .build()
        .unwrap();
    let answer = p.ask("how does protein folding work").await.unwrap();
    assert_eq!(ids(&answer.hits), ["cell"]);
    assert_eq!(
        answer.trace.stage("route").unwrap().notes,
        ["biology=1.000"]
    );
    assert!(answer.trace.stage("retrieve:law").is_none());
    let err = p.ask("breach of contract damages").await.unwrap_err();
    assert!(
        err.to_string().contains("law"),
        "routed to law, which fails: {err}"
    );
}

#[tokio::test]
async fn memory_carries_the_conversation_into_the_next_prompt() {
    let p = Pipeline::builder()
        .expert("a", Arc::new(StaticRetriever::ids("a", &["x"])))
        .memory(Arc::new(WindowMemory::new(1000)))
        .generator(Arc::new(EchoGenerator))
        .build()
        .unwrap();
    p.ask(AskRequest::new("my name is Ada").conversation("c1"))
        .await
        .unwrap();
    let second = p
        .ask(AskRequest::new("what is my name?").conversation("c1"))
        .await
        .unwrap();
    assert!(
        second.text.contains("<User>my name is Ada"),
        "{}",
        second.text
    );
    assert!(
        second.trace.stage("memory:load").is_some() && second.trace.stage("memory:save").is_some()
    );
    let other = p
        .ask(AskRequest::new("hello").conversation("c2"))
        .await
        .unwrap();
    assert!(!other.text.contains("Ada"), "conversations are apart");
    let none = p.ask("no conversation").await.unwrap();
    assert!(none.trace.stage("memory:load").is_none());
}

/// Rewrites the query text for retrieval.
struct Rewrite;

#[async_trait]
impl ragweave_core::QueryTransform for Rewrite {
    fn name(&self) -> &str {
        "rewrite"
    }
    async fn transform(&self, mut query: ragweave_core::Query) -> Result<ragweave_core::Query> {
        query.text = "REWRITTEN".into();
        Ok(query)
    }
}

#[tokio::test]
async fn the_generator_and_memory_see_the_users_words_not_the_rewrite() {
    let memory = Arc::new(WindowMemory::new(1000));
    let p = Pipeline::builder()
        .transform(Arc::new(Rewrite))
        .expert("a", Arc::new(StaticRetriever::ids("a", &["x"])))
        .memory(memory.clone())
        .generator(Arc::new(EchoGenerator))
        .build()
        .unwrap();
    let answer = p
        .ask(AskRequest::new("original question").conversation("c"))
        .await
        .unwrap();
    assert!(
        answer.text.contains("Question: original question"),
        "{}",
        answer.text
    );
    let recalled = ragweave_core::Memory::load(memory.as_ref(), "c", &"q".into())
        .await
        .unwrap();
    assert_eq!(recalled[0].content, "original question");
}

/// Returns whatever routes it was built with.
struct FixedRouter(Vec<ragweave_core::Route>);

#[async_trait]
impl ragweave_core::Router for FixedRouter {
    fn name(&self) -> &str {
        "fixed-router"
    }

    async fn route(
        &self,
        _q: &ragweave_core::Query,
        _e: &[String],
    ) -> Result<Vec<ragweave_core::Route>> {
        Ok(self.0.clone())
    }
}

#[tokio::test]
async fn bad_routes_are_errors_and_repeated_experts_run_once() {
    let route = |e: &str, w: f32| ragweave_core::Route {
        expert: e.into(),
        weight: w,
    };
    let build = |routes| {
        Pipeline::builder()
            .expert("a", Arc::new(StaticRetriever::ids("a", &["x", "y"])))
            .expert("b", Arc::new(StaticRetriever::ids("b", &["y"])))
            .router(Arc::new(FixedRouter(routes)))
            .build()
            .unwrap()
    };
    let err = build(vec![route("a", f32::NAN)])
        .ask("q")
        .await
        .unwrap_err();
    assert!(err.report().to_string().contains("weight NaN"), "{err}");
    assert!(build(vec![route("a", -1.0)]).ask("q").await.is_err());
    let err = build(vec![route("zzz", 1.0)]).ask("q").await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    let twice = build(vec![route("a", 1.0), route("a", 1.0), route("b", 1.0)])
        .ask("q")
        .await
        .unwrap();
    let runs = twice
        .trace
        .stages
        .iter()
        .filter(|s| s.name == "retrieve:a")
        .count();
    assert_eq!(runs, 1);
    assert_eq!(
        ids(&twice.hits),
        ["y", "x"],
        "fused as if a had been named once"
    );
}

/// Replies with its sampling's max_tokens, so a test can see which sampling it was given.
struct SamplingEcho;

#[async_trait]
impl Generator for SamplingEcho {
    fn name(&self) -> &str {
        "sampling-echo"
    }

    async fn stream(&self, request: &GenerateRequest) -> Result<TokenStream> {
        request.params.validate()?;
        let text = format!("max_tokens={}", request.params.max_tokens);
        Ok(futures::stream::iter(vec![Ok(text)]).boxed())
    }
}

#[tokio::test]
async fn a_request_brings_its_own_history_and_sampling() {
    let p = Pipeline::builder()
        .expert("a", Arc::new(StaticRetriever::ids("a", &["d1"])))
        .generator(Arc::new(EchoGenerator))
        .build()
        .unwrap();
    let history = vec![
        ragweave_core::ChatMessage::user("earlier question"),
        ragweave_core::ChatMessage::assistant("earlier answer"),
    ];
    let answer = p
        .ask(AskRequest::new("now what?").history(history))
        .await
        .unwrap();
    let earlier = answer.text.find("<User>earlier question").unwrap();
    let reply = answer.text.find("<Assistant>earlier answer").unwrap();
    let now = answer.text.rfind("now what?").unwrap();
    assert!(earlier < reply && reply < now, "{}", answer.text);

    let p = Pipeline::builder()
        .expert("a", Arc::new(StaticRetriever::ids("a", &["d1"])))
        .generator(Arc::new(SamplingEcho))
        .build()
        .unwrap();
    assert_eq!(
        p.ask("q").await.unwrap().text,
        format!("max_tokens={}", p.sampling().max_tokens)
    );
    let mut params = p.sampling().clone();
    params.max_tokens = 7;
    let answer = p
        .ask(AskRequest::new("q").sampling(params.clone()))
        .await
        .unwrap();
    assert_eq!(answer.text, "max_tokens=7");
    // Invalid sampling is refused before any stage runs.
    params.max_tokens = 0;
    let err = p
        .ask(AskRequest::new("q").sampling(params))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
}
