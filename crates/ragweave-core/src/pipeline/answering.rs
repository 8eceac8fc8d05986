//! Stages 6 to 8 of an answering pipeline: memory recalled, passages arranged into the
//! prompt, generation, memory saved. A pipeline without a generator has none of them.

use std::sync::Arc;
use std::time::Instant;

use super::prompt::PromptTemplate;
use super::request::AskRequest;
use super::retrieval::{Retrieval, Retrieved};
use super::stage::Stage;
use crate::answer::{Answer, Citation, Trace};
use crate::error::Result;
use crate::message::ChatMessage;
use crate::traits::context_arranger::ContextArranger;
use crate::traits::generator::{GenerateRequest, Generator, SamplingParams};
use crate::traits::memory::Memory;
use crate::types::Hit;

/// What a pipeline does with its hits.
pub(crate) enum Output {
    /// Returns them: a retrieval pipeline.
    Hits,
    /// Writes an answer from them.
    Answer(Box<Answering>),
}

/// The parts that turn hits into an answer.
pub(crate) struct Answering {
    pub(crate) generator: Arc<dyn Generator>,
    pub(crate) memory: Option<Arc<dyn Memory>>,
    pub(crate) arranger: Arc<dyn ContextArranger>,
    pub(crate) prompt: PromptTemplate,
}

/// A question with its prompt ready for the generator.
pub(crate) struct Prompted {
    /// The user's words: transforms may rewrite the query for retrieval, but the generator
    /// answers, and memory records, what was asked.
    pub(crate) question: String,
    pub(crate) conversation: Option<String>,
    pub(crate) hits: Vec<Hit>,
    pub(crate) citations: Vec<Citation>,
    pub(crate) request: GenerateRequest,
    pub(crate) trace: Trace,
}

impl Answering {
    /// Recalls the conversation, retrieves, arranges the passages and renders the prompt,
    /// sampled with the request's parameters or else `sampling`.
    pub(crate) async fn prompt(
        &self,
        retrieval: &Retrieval,
        sampling: &SamplingParams,
        request: AskRequest,
    ) -> Result<Prompted> {
        let mut trace = Trace::default();
        let mut history = match (&self.memory, &request.conversation) {
            (Some(memory), Some(conversation)) => {
                let span = tracing::info_span!("ragweave.memory.load");
                Stage::new("memory:load", "memory", span)
                    .run(&mut trace, memory.load(conversation, &request.query))
                    .await?
            }
            _ => Vec::new(),
        };
        history.extend(request.history);
        let question = request.query.text.clone();
        let Retrieved { query, hits } = retrieval.retrieve(request.query, &mut trace).await?;
        let started = Instant::now();
        let arranged = self.arranger.arrange(&query, hits.clone());
        trace.record("arrange", started.elapsed(), Vec::new());
        let started = Instant::now();
        let messages = self.prompt.render(&question, &arranged, history);
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
        Ok(Prompted {
            question,
            conversation: request.conversation,
            hits,
            citations,
            request: GenerateRequest {
                messages,
                params: request.sampling.unwrap_or_else(|| sampling.clone()),
            },
            trace,
        })
    }

    /// Records the exchange in memory and returns the answer.
    pub(crate) async fn finish(&self, prompted: Prompted, text: String) -> Result<Answer> {
        let Prompted {
            question,
            conversation,
            hits,
            citations,
            mut trace,
            ..
        } = prompted;
        if let (Some(memory), Some(conversation)) = (&self.memory, &conversation) {
            let span = tracing::info_span!("ragweave.memory.save");
            let user = ChatMessage::user(question);
            let assistant = ChatMessage::assistant(text.clone());
            Stage::new("memory:save", "memory", span)
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
