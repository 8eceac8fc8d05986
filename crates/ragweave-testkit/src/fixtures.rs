//! Small components for testing composition logic: retrievers with fixed data, a scripted
//! generator, components that fail or stall. They stand in for engines in unit tests of
//! pipelines; they are never evidence that an engine integration works.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use ragweave_core::{
    Chunk, EmbedInput, Embedder, Error, GenerateRequest, Generator, Hit, Query, Reranker, Result,
    Retriever, StopMatcher, TokenStream,
};

/// Returns its chunks, in order, with descending scores, filtered and cut to `top_k`.
#[derive(Debug, Clone)]
pub struct StaticRetriever {
    name: String,
    chunks: Vec<Chunk>,
    delay: Option<Duration>,
}

impl StaticRetriever {
    /// A retriever labelled `name` that always ranks `chunks` in this order.
    pub fn new(name: impl Into<String>, chunks: Vec<Chunk>) -> Self {
        Self {
            name: name.into(),
            chunks,
            delay: None,
        }
    }

    /// Ranks chunks with these ids (document id = chunk id, text = id).
    pub fn ids(name: impl Into<String>, ids: &[&str]) -> Self {
        Self::new(
            name,
            ids.iter().map(|id| Chunk::new(*id, *id, *id)).collect(),
        )
    }

    /// Sleeps this long before answering (for timeout tests).
    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }
}

#[async_trait]
impl Retriever for StaticRetriever {
    fn name(&self) -> &str {
        "static"
    }

    async fn retrieve(&self, query: &Query) -> Result<Vec<Hit>> {
        query.validate()?;
        if let Some(d) = self.delay {
            tokio::time::sleep(d).await;
        }
        Ok(self
            .chunks
            .iter()
            .filter(|c| query.filter.as_ref().is_none_or(|f| f.matches(&c.metadata)))
            .take(query.top_k)
            .enumerate()
            .map(|(i, c)| Hit::new(c.clone(), 1.0 / (i as f32 + 1.0), self.name.clone()))
            .collect())
    }
}

/// Always fails with a transient error naming itself.
#[derive(Debug, Clone)]
pub struct FailingRetriever(pub String);

#[async_trait]
impl Retriever for FailingRetriever {
    fn name(&self) -> &str {
        "failing"
    }

    async fn retrieve(&self, _query: &Query) -> Result<Vec<Hit>> {
        Err(Error::transient(self.0.clone(), "connection refused"))
    }
}

/// Returns hits unchanged.
#[derive(Debug, Clone, Copy, Default)]
pub struct PassThroughReranker;

#[async_trait]
impl Reranker for PassThroughReranker {
    fn name(&self) -> &str {
        "pass-through"
    }

    async fn rerank(&self, _query: &Query, hits: Vec<Hit>) -> Result<Vec<Hit>> {
        Ok(hits)
    }
}

/// Embeds every text as the same unit vector, instantly.
#[derive(Debug, Clone)]
pub struct FixedEmbedder {
    vector: Vec<f32>,
}

impl FixedEmbedder {
    /// A `dimension`-long constant unit vector.
    pub fn new(dimension: usize) -> Self {
        let x = 1.0 / (dimension as f32).sqrt();
        Self {
            vector: vec![x; dimension],
        }
    }
}

#[async_trait]
impl Embedder for FixedEmbedder {
    fn name(&self) -> &str {
        "fixed"
    }

    fn model_id(&self) -> &str {
        "fixed"
    }

    fn dimension(&self) -> usize {
        self.vector.len()
    }

    async fn embed(&self, texts: &[String], _input: EmbedInput<'_>) -> Result<Vec<Vec<f32>>> {
        Ok(texts.iter().map(|_| self.vector.clone()).collect())
    }
}

/// Streams a fixed reply word by word, honouring `max_tokens` and stop sequences.
///
/// It can fail after some tokens or wait before each one, and it counts tokens produced and
/// streams dropped unfinished, so tests can see that cancellation reaches it.
#[derive(Clone)]
pub struct ScriptedGenerator {
    reply: Arc<Vec<String>>,
    fail_after: Option<usize>,
    delay: Option<Duration>,
    produced: Arc<AtomicUsize>,
    dropped_early: Arc<AtomicUsize>,
}

impl ScriptedGenerator {
    /// Replies `text`, one token per word (the space before a word belongs to it).
    pub fn new(text: &str) -> Self {
        let mut tokens = Vec::new();
        for (i, word) in text.split(' ').enumerate() {
            tokens.push(if i == 0 {
                word.to_string()
            } else {
                format!(" {word}")
            });
        }
        Self {
            reply: Arc::new(tokens),
            fail_after: None,
            delay: None,
            produced: Arc::new(AtomicUsize::new(0)),
            dropped_early: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Fails the stream after `n` tokens.
    pub fn fail_after(mut self, n: usize) -> Self {
        self.fail_after = Some(n);
        self
    }

    /// Waits `d` before each token.
    pub fn delay(mut self, d: Duration) -> Self {
        self.delay = Some(d);
        self
    }

    /// Tokens produced so far, over all requests.
    pub fn produced(&self) -> usize {
        self.produced.load(Ordering::SeqCst)
    }

    /// Streams dropped before they finished.
    pub fn dropped_early(&self) -> usize {
        self.dropped_early.load(Ordering::SeqCst)
    }
}

struct DropWatch {
    finished: AtomicBool,
    dropped_early: Arc<AtomicUsize>,
}

impl Drop for DropWatch {
    fn drop(&mut self) {
        if !self.finished.load(Ordering::SeqCst) {
            self.dropped_early.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[async_trait]
impl Generator for ScriptedGenerator {
    fn name(&self) -> &str {
        "scripted"
    }

    async fn stream(&self, request: &GenerateRequest) -> Result<TokenStream> {
        request.params.validate()?;
        let this = self.clone();
        let max = request.params.max_tokens;
        let watch = Arc::new(DropWatch {
            finished: AtomicBool::new(false),
            dropped_early: self.dropped_early.clone(),
        });
        let state = (0usize, StopMatcher::new(&request.params.stop), false);
        let stream = futures::stream::unfold(state, move |(i, mut stop, done)| {
            let this = this.clone();
            let watch = watch.clone();
            async move {
                let end = |watch: &DropWatch| watch.finished.store(true, Ordering::SeqCst);
                if done || i >= max || i >= this.reply.len() {
                    end(&watch);
                    let rest = stop.finish();
                    return (!done && !rest.is_empty()).then(|| (Ok(rest), (i, stop, true)));
                }
                if let Some(d) = this.delay {
                    tokio::time::sleep(d).await;
                }
                if this.fail_after == Some(i) {
                    end(&watch);
                    return Some((
                        Err(Error::transient("scripted generator", "failed mid-stream")),
                        (i, stop, true),
                    ));
                }
                this.produced.fetch_add(1, Ordering::SeqCst);
                let step = stop.push(&this.reply[i]);
                if step.stopped {
                    end(&watch);
                }
                Some((Ok(step.emit), (i + 1, stop, step.stopped)))
            }
        });
        Ok(stream.boxed())
    }
}
