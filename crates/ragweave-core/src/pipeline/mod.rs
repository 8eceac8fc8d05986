//! The pipeline: memory, transforms, routing over experts, fusion, reranking, arranging,
//! prompting, generation, memory save.

mod builder;
mod prompt;
mod stage;
mod stream;

use std::sync::Arc;
use std::time::Instant;

use tracing::Instrument;

pub use builder::{ExpertFailure, PipelineBuilder, StageTimeouts};
pub use prompt::PromptTemplate;
pub use stream::AskEvent;

use crate::algorithms::fusion::Fusion;
use crate::algorithms::rrf::RankedList;
use crate::answer::{Answer, Citation, Trace};
use crate::error::{Error, Result};
use crate::message::ChatMessage;
use crate::query::{Filter, Query};
use crate::traits::arranger::ContextArranger;
use crate::traits::generator::{GenerateRequest, Generator, SamplingParams};
use crate::traits::memory::Memory;
use crate::traits::query_transform::QueryTransform;
use crate::traits::reranker::Reranker;
use crate::traits::retriever::Retriever;
use crate::traits::router::{Route, Router};
use crate::types::Hit;
use stage::{Stage, WithElapsed, timed};

/// A question for [`Pipeline::ask`], with its options.
#[derive(Debug, Clone)]
pub struct AskRequest {
    /// The query; its `top_k` and `filter` apply.
    pub query: Query,
    /// Conversation id for memory; `None` asks without memory.
    pub conversation: Option<String>,
    /// Earlier turns the caller keeps itself (an OpenAI-style client sends the whole
    /// conversation): they go to the generator after memory's and before the question.
    pub history: Vec<ChatMessage>,
    /// Sampling for this request in place of the pipeline's own.
    pub sampling: Option<SamplingParams>,
}

impl AskRequest {
    /// A request for `text` with default options.
    pub fn new(text: impl Into<String>) -> Self {
        Query::new(text).into()
    }

    /// Number of hits to retrieve.
    pub fn top_k(mut self, top_k: usize) -> Self {
        self.query.top_k = top_k;
        self
    }

    /// Restricts retrieval by metadata.
    pub fn filter(mut self, filter: Filter) -> Self {
        self.query.filter = Some(filter);
        self
    }

    /// Asks within a conversation, so memory is loaded and saved.
    pub fn conversation(mut self, id: impl Into<String>) -> Self {
        self.conversation = Some(id.into());
        self
    }

    /// Earlier turns of the conversation, oldest first.
    pub fn history(mut self, messages: Vec<ChatMessage>) -> Self {
        self.history = messages;
        self
    }

    /// Samples this request's answer with `params` instead of the pipeline's.
    pub fn sampling(mut self, params: SamplingParams) -> Self {
        self.sampling = Some(params);
        self
    }
}

impl From<&str> for AskRequest {
    fn from(text: &str) -> Self {
        AskRequest::new(text)
    }
}

impl From<String> for AskRequest {
    fn from(text: String) -> Self {
        AskRequest::new(text)
    }
}

impl From<Query> for AskRequest {
    fn from(query: Query) -> Self {
        AskRequest {
            query,
            conversation: None,
            history: Vec::new(),
            sampling: None,
        }
    }
}

/// A composed RAG pipeline. Cheap to clone (an `Arc` inside), `Send + Sync`.
///
/// Every stage runs in a tracing span and is timed in the answer's [`Trace`]. Nothing is
/// spawned: dropping the future of [`Pipeline::ask`] (or the stream of
/// [`Pipeline::ask_stream`]) cancels every stage below it.
///
/// ```
/// use std::sync::Arc;
/// use ragweave_core::{Chunk, DenseRetriever, HashingEmbedder, InMemoryStore, Pipeline};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> ragweave_core::Result<()> {
/// let embedder = Arc::new(HashingEmbedder::new(256));
/// let dense = DenseRetriever::new(embedder, Arc::new(InMemoryStore::new(256)))?;
/// dense
///     .index(vec![
///         Chunk::new("c1", "rust", "Rust has no garbage collector."),
///         Chunk::new("c2", "go", "Go has a garbage collector."),
///     ])
///     .await?;
/// let pipeline = Pipeline::builder().expert("dense", Arc::new(dense)).build()?;
/// let answer = pipeline.ask("does rust have a garbage collector").await?;
/// assert_eq!(answer.hits[0].chunk.id, "c1");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Pipeline {
    inner: Arc<Inner>,
}

pub(crate) struct Expert {
    name: String,
    stage: String,
    component: String,
    retriever: Arc<dyn Retriever>,
}

pub(crate) struct Inner {
    memory: Option<Arc<dyn Memory>>,
    transforms: Vec<(String, Arc<dyn QueryTransform>)>,
    experts: Vec<Expert>,
    expert_names: Vec<String>,
    router: Option<Arc<dyn Router>>,
    fusion: Fusion,
    candidates: Option<usize>,
    reranker: Option<Arc<dyn Reranker>>,
    arranger: Arc<dyn ContextArranger>,
    prompt: PromptTemplate,
    generator: Option<Arc<dyn Generator>>,
    sampling: SamplingParams,
    timeouts: StageTimeouts,
    expert_failure: ExpertFailure,
}

/// Everything up to generation, shared by `ask` and `ask_stream`.
struct Prepared {
    /// The user's words: transforms may rewrite the query for retrieval, but the generator
    /// answers, and memory records, what was asked.
    question: String,
    conversation: Option<String>,
    hits: Vec<Hit>,
    citations: Vec<Citation>,
    request: Option<GenerateRequest>,
    trace: Trace,
}

impl Pipeline {
    /// Starts building a pipeline.
    pub fn builder() -> PipelineBuilder {
        PipelineBuilder::default()
    }

    /// Names of the expert retrievers.
    pub fn experts(&self) -> &[String] {
        &self.inner.expert_names
    }

    /// Whether the pipeline generates an answer (or only retrieves).
    pub fn has_generator(&self) -> bool {
        self.inner.generator.is_some()
    }

    /// The sampling answers use unless a request brings its own.
    pub fn sampling(&self) -> &SamplingParams {
        &self.inner.sampling
    }

    /// Runs the pipeline and returns the answer.
    pub async fn ask(&self, request: impl Into<AskRequest>) -> Result<Answer> {
        let mut prep = self.prepare(request.into()).await?;
        let text = match (&self.inner.generator, &prep.request) {
            (Some(generator), Some(request)) => {
                let limit = self.inner.timeouts.generate;
                let span = tracing::info_span!("ragweave.generate");
                let completion = Stage::new("generate", "generator", limit, span)
                    .run(&mut prep.trace, generator.complete(request))
                    .await?;
                completion.text
            }
            _ => String::new(),
        };
        self.finish(prep, text).await
    }

    /// Retrieves for `request` without generating, whatever the pipeline holds.
    pub async fn retrieve(&self, request: impl Into<AskRequest>) -> Result<Vec<Hit>> {
        Ok(self.retrieve_traced(request).await?.0)
    }

    /// [`Pipeline::retrieve`], with the trace of the stages it ran (transforms, routing,
    /// each expert, fusion, reranking): what evaluation measures.
    pub async fn retrieve_traced(
        &self,
        request: impl Into<AskRequest>,
    ) -> Result<(Vec<Hit>, Trace)> {
        let mut request = request.into();
        request.conversation = None;
        let mut trace = Trace::default();
        let query = self.transformed(request.query, &mut trace).await?;
        let hits = self.retrieve_ranked(&query, &mut trace).await?;
        Ok((hits, trace))
    }

    async fn prepare(&self, request: AskRequest) -> Result<Prepared> {
        let inner = &*self.inner;
        request.query.validate()?;
        if let Some(params) = &request.sampling {
            params.validate()?;
        }
        let mut trace = Trace::default();
        let mut history = match (&inner.memory, &request.conversation, &inner.generator) {
            (Some(memory), Some(conversation), Some(_)) => {
                let span = tracing::info_span!("ragweave.memory.load");
                Stage::new("memory:load", "memory", inner.timeouts.memory, span)
                    .run(&mut trace, memory.load(conversation, &request.query))
                    .await?
            }
            _ => Vec::new(),
        };
        history.extend(request.history);
        let question = request.query.text.clone();
        let query = self.transformed(request.query, &mut trace).await?;
        let hits = self.retrieve_ranked(&query, &mut trace).await?;
        let Some(_) = inner.generator else {
            return Ok(Prepared {
                question,
                conversation: request.conversation,
                hits,
                citations: Vec::new(),
                request: None,
                trace,
            });
        };
        let started = Instant::now();
        let arranged = inner.arranger.arrange(&query, hits.clone());
        trace.record("arrange", started.elapsed(), Vec::new());
        let started = Instant::now();
        let messages = inner.prompt.render(&question, &arranged, history);
        let citations = arranged
            .iter()
            .enumerate()
            .map(|(i, h)| Citation {
                index: i + 1,
                chunk_id: h.chunk.id.clone(),
                document_id: h.chunk.document_id.clone(),
            })
            .collect();
        trace.record("prompt", started.elapsed(), Vec::new());
        Ok(Prepared {
            question,
            conversation: request.conversation,
            hits,
            citations,
            request: Some(GenerateRequest {
                messages,
                params: request.sampling.unwrap_or_else(|| inner.sampling.clone()),
            }),
            trace,
        })
    }

    async fn transformed(&self, mut query: Query, trace: &mut Trace) -> Result<Query> {
        query.validate()?;
        for (stage, transform) in &self.inner.transforms {
            let before = query.thoughts.len();
            let span = tracing::info_span!("ragweave.transform", stage = %stage);
            query = Stage::new(stage, stage, self.inner.timeouts.transform, span)
                .run(trace, transform.transform(query))
                .await?;
            trace.annotate_last(query.thoughts[before.min(query.thoughts.len())..].to_vec());
        }
        Ok(query)
    }

    /// Routes, runs the chosen experts concurrently, fuses and reranks.
    async fn retrieve_ranked(&self, query: &Query, trace: &mut Trace) -> Result<Vec<Hit>> {
        let inner = &*self.inner;
        if inner.experts.is_empty() {
            return Ok(Vec::new());
        }
        let routes = match &inner.router {
            Some(router) => {
                let span = tracing::info_span!("ragweave.route");
                let routes = Stage::new("route", "router", inner.timeouts.route, span)
                    .run(trace, router.route(query, &inner.expert_names))
                    .await?;
                if routes.is_empty() {
                    return Err(Error::component("router", "chose no expert"));
                }
                trace.annotate_last(
                    routes
                        .iter()
                        .map(|r| format!("{}={:.3}", r.expert, r.weight))
                        .collect(),
                );
                routes
            }
            None => inner
                .expert_names
                .iter()
                .map(|n| Route {
                    expert: n.clone(),
                    weight: 1.0,
                })
                .collect(),
        };
        let depth = inner.candidates.unwrap_or(query.top_k).max(query.top_k);
        let expert_query;
        let expert_query = if depth == query.top_k {
            query
        } else {
            expert_query = query.clone().top_k(depth);
            &expert_query
        };
        let mut chosen: Vec<(&Expert, f32)> = Vec::with_capacity(routes.len());
        for route in &routes {
            if !(route.weight.is_finite() && route.weight >= 0.0) {
                return Err(Error::component(
                    "router",
                    format!(
                        "weight {} for expert `{}` is not a finite number >= 0",
                        route.weight, route.expert
                    ),
                ));
            }
            if chosen.iter().any(|(e, _)| e.name == route.expert) {
                continue; // a router naming an expert twice still runs it once
            }
            let expert = inner
                .experts
                .iter()
                .find(|e| e.name == route.expert)
                .ok_or_else(|| Error::NotFound {
                    what: "expert",
                    name: route.expert.clone(),
                })?;
            chosen.push((expert, route.weight));
        }
        let results = futures::future::join_all(chosen.iter().map(|(expert, _)| {
            let started = Instant::now();
            timed(
                &expert.stage,
                inner.timeouts.retrieve,
                expert.retriever.retrieve(expert_query),
            )
            .instrument(tracing::info_span!("ragweave.retrieve", expert = %expert.name))
            .map_with_elapsed(started)
        }))
        .await;
        let mut lists = Vec::with_capacity(results.len());
        let mut first_error = None;
        let failed = results.iter().filter(|(r, _)| r.is_err()).count();
        for ((expert, weight), (result, elapsed)) in chosen.iter().zip(results) {
            match result {
                Ok(hits) => {
                    trace.record(expert.stage.clone(), elapsed, Vec::new());
                    lists.push(RankedList {
                        name: expert.name.clone(),
                        weight: *weight * inner.fusion.weight(&expert.name),
                        hits,
                    });
                }
                Err(e) => {
                    let e = e.in_component(&expert.component);
                    tracing::warn!(expert = %expert.name, error = %e, "expert failed");
                    trace.record(expert.stage.clone(), elapsed, vec![format!("failed: {e}")]);
                    if inner.expert_failure == ExpertFailure::Fail {
                        return Err(e);
                    }
                    first_error.get_or_insert(e);
                }
            }
        }
        if lists.is_empty() {
            let first = first_error.expect("every expert failed, so there is an error");
            return Err(Error::AllExpertsFailed {
                count: failed,
                first: Box::new(first),
            });
        }
        let started = Instant::now();
        let mut hits = inner.fusion.fuse(lists, depth);
        trace.record("fuse", started.elapsed(), Vec::new());
        if let Some(reranker) = &inner.reranker {
            let span = tracing::info_span!("ragweave.rerank");
            hits = Stage::new("rerank", "reranker", inner.timeouts.rerank, span)
                .run(trace, reranker.rerank(query, hits))
                .await?;
        }
        hits.truncate(query.top_k);
        Ok(hits)
    }

    async fn finish(&self, prep: Prepared, text: String) -> Result<Answer> {
        let Prepared {
            question,
            conversation,
            hits,
            citations,
            mut trace,
            ..
        } = prep;
        if let (Some(memory), Some(conversation), true) = (
            &self.inner.memory,
            &conversation,
            self.inner.generator.is_some(),
        ) {
            let span = tracing::info_span!("ragweave.memory.save");
            let user = ChatMessage::user(question);
            let assistant = ChatMessage::assistant(text.clone());
            Stage::new("memory:save", "memory", self.inner.timeouts.memory, span)
                .run(&mut trace, memory.save(conversation, user, assistant))
                .await?;
        }
        Ok(Answer {
            text,
            citations,
            hits,
            trace,
        })
    }
}
