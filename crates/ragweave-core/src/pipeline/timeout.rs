//! Time limits as a layer: a component wrapped in [`Timeout`] is the same component that fails
//! with [`Error::Timeout`] once its limit passes, the way a tower `Layer` wraps a `Service`.
//! The pipeline wraps each component with its stage's limit when it is built, so `ask` and
//! `ask_stream` share one mechanism.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;

use crate::error::{Error, Result};
use crate::message::ChatMessage;
use crate::query::Query;
use crate::traits::generator::{Completion, GenerateRequest, Generator, TokenStream};
use crate::traits::memory::Memory;
use crate::traits::query_transform::QueryTransform;
use crate::traits::reranker::Reranker;
use crate::traits::retriever::Retriever;
use crate::traits::router::{Route, Router};
use crate::types::Hit;

/// `inner`, failing with [`Error::Timeout`] naming `stage` once `limit` passes. For a
/// generator the limit covers the whole generation, first token to last, streamed or not.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use ragweave_core::pipeline::Timeout;
/// use ragweave_core::{Bm25Index, Bm25Params, Retriever};
///
/// let bm25: Arc<dyn Retriever> = Arc::new(Bm25Index::new(Bm25Params::default()));
/// let limited = Timeout::wrap(bm25, Some(Duration::from_secs(1)), "retrieve:bm25");
/// assert_eq!(limited.name(), "bm25");
/// ```
pub struct Timeout<C: ?Sized> {
    inner: Arc<C>,
    limit: Duration,
    stage: String,
}

impl<C: ?Sized + Send + Sync + 'static> Timeout<C>
where
    Timeout<C>: Wrapped<C>,
{
    /// `inner` under `limit` (none leaves it as it is), its timeouts naming `stage`.
    pub fn wrap(inner: Arc<C>, limit: Option<Duration>, stage: impl Into<String>) -> Arc<C> {
        match limit {
            None => inner,
            Some(limit) => Self {
                inner,
                limit,
                stage: stage.into(),
            }
            .erase(),
        }
    }
}

/// Turns a [`Timeout`] back into the trait object it wraps.
#[doc(hidden)]
pub trait Wrapped<C: ?Sized> {
    /// The wrapper as the trait object `C`.
    fn erase(self) -> Arc<C>;
}

impl<C: ?Sized> Timeout<C> {
    fn expired(&self, stage: &str) -> Error {
        Error::Timeout {
            stage: stage.to_string(),
            after: self.limit,
        }
    }

    async fn run<T>(&self, stage: &str, fut: impl Future<Output = Result<T>>) -> Result<T> {
        tokio::time::timeout(self.limit, fut)
            .await
            .unwrap_or_else(|_| Err(self.expired(stage)))
    }
}

macro_rules! wrapped {
    ($($trait:ident),*) => {$(
        impl Wrapped<dyn $trait> for Timeout<dyn $trait> {
            fn erase(self) -> Arc<dyn $trait> {
                Arc::new(self)
            }
        }
    )*};
}
wrapped!(
    Retriever,
    Router,
    Reranker,
    QueryTransform,
    Memory,
    Generator
);

#[async_trait]
impl Retriever for Timeout<dyn Retriever> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn retrieve(&self, query: &Query) -> Result<Vec<Hit>> {
        self.run(&self.stage, self.inner.retrieve(query)).await
    }

    async fn score_documents(
        &self,
        query: &Query,
        documents: &[String],
    ) -> Result<Option<Vec<Hit>>> {
        self.run(&self.stage, self.inner.score_documents(query, documents))
            .await
    }
}

#[async_trait]
impl Router for Timeout<dyn Router> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn route(&self, query: &Query, experts: &[String]) -> Result<Vec<Route>> {
        self.run(&self.stage, self.inner.route(query, experts))
            .await
    }
}

#[async_trait]
impl Reranker for Timeout<dyn Reranker> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn rerank(&self, query: &Query, hits: Vec<Hit>) -> Result<Vec<Hit>> {
        self.run(&self.stage, self.inner.rerank(query, hits)).await
    }
}

#[async_trait]
impl QueryTransform for Timeout<dyn QueryTransform> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn transform(&self, query: Query) -> Result<Query> {
        self.run(&self.stage, self.inner.transform(query)).await
    }
}

#[async_trait]
impl Memory for Timeout<dyn Memory> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn load(&self, conversation: &str, query: &Query) -> Result<Vec<ChatMessage>> {
        let stage = format!("{}:load", self.stage);
        self.run(&stage, self.inner.load(conversation, query)).await
    }

    async fn save(
        &self,
        conversation: &str,
        user: ChatMessage,
        assistant: ChatMessage,
    ) -> Result<()> {
        let stage = format!("{}:save", self.stage);
        self.run(&stage, self.inner.save(conversation, user, assistant))
            .await
    }
}

#[async_trait]
impl Generator for Timeout<dyn Generator> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn stream(&self, request: &GenerateRequest) -> Result<TokenStream> {
        let deadline = tokio::time::Instant::now() + self.limit;
        let tokens = tokio::time::timeout_at(deadline, self.inner.stream(request))
            .await
            .unwrap_or_else(|_| Err(self.expired(&self.stage)))?;
        let (stage, after) = (self.stage.clone(), self.limit);
        // The deadline holds for every next token; once it passes the stream yields the
        // timeout and ends, which drops (and so stops) the generation.
        let limited = futures::stream::unfold(Some(tokens), move |tokens| {
            let stage = stage.clone();
            async move {
                let mut tokens = tokens?;
                match tokio::time::timeout_at(deadline, tokens.next()).await {
                    Ok(Some(item)) => Some((item, Some(tokens))),
                    Ok(None) => None,
                    Err(_) => Some((Err(Error::Timeout { stage, after }), None)),
                }
            }
        });
        Ok(limited.boxed())
    }

    async fn complete(&self, request: &GenerateRequest) -> Result<Completion> {
        self.run(&self.stage, self.inner.complete(request)).await
    }

    async fn health(&self) -> Result<()> {
        let stage = format!("{}:health", self.stage);
        self.run(&stage, self.inner.health()).await
    }
}
