//! What a caller asks: the query and its options.

use crate::message::ChatMessage;
use crate::query::{Filter, Query};
use crate::traits::generator::SamplingParams;

/// A question for [`Pipeline::ask`](super::Pipeline::ask), with its options.
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

impl AskRequest {
    /// Checks the query and the sampling before any stage runs.
    pub(crate) fn validate(&self) -> crate::Result<()> {
        self.query.validate()?;
        if let Some(params) = &self.sampling {
            params.validate()?;
        }
        Ok(())
    }
}
