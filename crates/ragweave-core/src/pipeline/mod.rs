//! The pipeline, one module per stage, in the order a query flows through them:
//!
//! 1. `request`: what the caller asks ([`AskRequest`]);
//! 2. `transform`: query transforms (thoughts, expansions, a query vector);
//! 3. `route`: the router's choice of experts;
//! 4. `experts`: the chosen experts, concurrently (and, with `[fusion] score_union`, `union`:
//!    each scores the candidates the others found);
//! 5. `rank`: per-query weights (`[fusion.adaptive]`), fusion, reranking, the cut to `top_k`
//!    (`retrieval` runs 2 to 5);
//! 6. `answering`: memory recalled, the passages arranged into the prompt;
//! 7. generation, whole ([`Pipeline::ask`]) or streamed (`stream`);
//! 8. `answering` again: the exchange saved to memory.
//!
//! Whether a pipeline answers or only retrieves is decided once, when it is built: its
//! output is hits or an answer, never a generator checked again per stage. Time limits are
//! layers on the components ([`Timeout`]), the same for `ask` and `ask_stream`.

mod answering;
mod builder;
mod experts;
mod prompt;
mod rank;
mod request;
mod retrieval;
mod route;
mod stage;
mod stream;
mod timeout;
mod transform;
mod union;

use std::sync::Arc;

pub use builder::{ExpertFailure, PipelineBuilder, StageTimeouts};
pub use prompt::PromptTemplate;
pub use request::AskRequest;
pub use stream::AskEvent;
pub use timeout::{Timeout, Wrapped};

use crate::algorithms::rrf::RankedList;
use crate::answer::{Answer, Trace};
use crate::error::Result;
use crate::query::Query;
use crate::traits::generator::{Generator, SamplingParams};
use crate::types::Hit;
use answering::Output;
use retrieval::{FusionInput, Retrieval, Retrieved};
use stage::Stage;

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

pub(crate) struct Inner {
    retrieval: Retrieval,
    output: Output,
    /// Kept by pipelines that only retrieve too: a server chatting with a generator
    /// directly samples with the config's `[sampling]`.
    sampling: SamplingParams,
}

impl Pipeline {
    /// Starts building a pipeline.
    pub fn builder() -> PipelineBuilder {
        PipelineBuilder::default()
    }

    /// Names of the expert retrievers.
    pub fn experts(&self) -> &[String] {
        &self.inner.retrieval.expert_names
    }

    /// Whether the pipeline generates an answer (or only retrieves).
    pub fn has_generator(&self) -> bool {
        matches!(self.inner.output, Output::Answer(_))
    }

    /// The generator that writes answers, if the pipeline has one.
    pub fn generator(&self) -> Option<&Arc<dyn Generator>> {
        match &self.inner.output {
            Output::Answer(answering) => Some(&answering.generator),
            Output::Hits => None,
        }
    }

    /// The sampling answers use unless a request brings its own (the config's
    /// `[sampling]`), kept by a pipeline that only retrieves too.
    pub fn sampling(&self) -> &SamplingParams {
        &self.inner.sampling
    }

    /// Runs the pipeline and returns the answer (with no text, for a pipeline that only
    /// retrieves).
    pub async fn ask(&self, request: impl Into<AskRequest>) -> Result<Answer> {
        let request = request.into();
        request.validate()?;
        let answering = match &self.inner.output {
            Output::Hits => {
                let (hits, trace) = self.retrieve_traced(request).await?;
                return Ok(Answer {
                    hits,
                    trace,
                    ..Answer::default()
                });
            }
            Output::Answer(answering) => answering,
        };
        let mut prompted = answering
            .prompt(&self.inner.retrieval, &self.inner.sampling, request)
            .await?;
        let span = tracing::info_span!("ragweave.generate");
        let completion = Stage::new("generate", "generator", span)
            .run(
                &mut prompted.trace,
                answering.generator.complete(&prompted.request),
            )
            .await?;
        answering.finish(prompted, completion.text).await
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
        let mut trace = Trace::default();
        let Retrieved { hits, .. } = self
            .inner
            .retrieval
            .retrieve(request.into().query, &mut trace)
            .await?;
        Ok((hits, trace))
    }

    /// What fusion is given for `request`: each chosen expert's list (with `[fusion]
    /// score_union`, extended by the union it scored) at the weight fusion would give it
    /// before `[fusion.adaptive]` reweighs it for the query; and the query as the
    /// transforms left it. What `ragweave fit-fusion` fits per-query weights on, and what
    /// explains a ranking.
    pub async fn fusion_input(
        &self,
        request: impl Into<AskRequest>,
    ) -> Result<(Query, Vec<RankedList>)> {
        let mut trace = Trace::default();
        let FusionInput { query, lists, .. } = self
            .inner
            .retrieval
            .fusion_input(request.into().query, &mut trace)
            .await?;
        Ok((query, lists))
    }
}
