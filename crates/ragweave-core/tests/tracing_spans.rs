//! Every pipeline stage opens a tracing span.
//!
//! This test has its own binary: tracing caches each callsite's interest process-wide, so a
//! test running in parallel without a subscriber could make a span invisible here.

use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use ragweave_core::{
    AskRequest, GenerateRequest, Generator, HashingEmbedder, PilotRouter, Pipeline, Result,
    ThinkThenRetrieve, TokenStream, WindowMemory,
};
use ragweave_testkit::fixtures::{PassThroughReranker, ScriptedGenerator, StaticRetriever};

struct EchoGenerator;

#[async_trait]
impl Generator for EchoGenerator {
    fn name(&self) -> &str {
        "echo-generator"
    }

    async fn stream(&self, request: &GenerateRequest) -> Result<TokenStream> {
        let last = request
            .messages
            .last()
            .map(|m| m.content.clone())
            .unwrap_or_default();
        Ok(futures::stream::iter(vec![Ok(last)]).boxed())
    }
}

/// Records the name of every span opened.
#[derive(Clone, Default)]
struct SpanNames(Arc<std::sync::Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for SpanNames {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _id: &tracing::span::Id,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        self.0
            .lock()
            .unwrap()
            .push(attrs.metadata().name().to_string());
    }
}

#[tokio::test]
async fn every_stage_runs_in_a_span() {
    use tracing_subscriber::layer::SubscriberExt;
    let names = SpanNames::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(names.clone()));
    let embedder = Arc::new(HashingEmbedder::new(64));
    let router = PilotRouter::new(embedder);
    router
        .add_expert_from_queries("a", &["anything at all"])
        .await
        .unwrap();
    let p = Pipeline::builder()
        .transform(Arc::new(ThinkThenRetrieve::new(Arc::new(
            ScriptedGenerator::new("t"),
        ))))
        .expert("a", Arc::new(StaticRetriever::ids("a", &["x"])))
        .router(Arc::new(router))
        .reranker(Arc::new(PassThroughReranker))
        .memory(Arc::new(WindowMemory::new(100)))
        .generator(Arc::new(EchoGenerator))
        .build()
        .unwrap();
    p.ask(AskRequest::new("q").conversation("c")).await.unwrap();
    let seen = names.0.lock().unwrap().clone();
    names.0.lock().unwrap().clear();
    let events: Vec<_> = p.ask_stream("q").collect().await;
    assert!(events.iter().all(|e| e.is_ok()));
    let streamed = names.0.lock().unwrap().clone();
    assert!(
        streamed.iter().any(|s| s == "ragweave.generate"),
        "streamed generation runs in a span too: {streamed:?}"
    );
    for span in [
        "ragweave.memory.load",
        "ragweave.transform",
        "ragweave.route",
        "ragweave.retrieve",
        "ragweave.rerank",
        "ragweave.generate",
        "ragweave.memory.save",
    ] {
        assert!(seen.iter().any(|s| s == span), "no {span} span in {seen:?}");
    }
}
