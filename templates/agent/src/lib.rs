//! A chat agent: ragweave's pipeline with conversation memory and reasoning before
//! retrieval, over documents in an embedded store.

use std::path::Path;
use std::sync::Arc;

use futures::StreamExt;
use ragweave::ingest::{IngestReport, Ingestor};
use ragweave::llama_cpp::{LlamaGenerator, LlamaGeneratorOptions};
use ragweave::qdrant_edge::{EdgeStore, EdgeStoreOptions};
use ragweave::{
    Answer, AskEvent, AskRequest, ChunkStore, Generator, LongContextReorder, Pipeline,
    PromptTemplate, SamplingParams, SearchMode, StoreSearch, ThinkThenRetrieve, WindowMemory,
};

/// How the agent thinks and answers.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    /// Most tokens per answer.
    pub max_tokens: usize,
    /// Thoughts written before each retrieval.
    pub thoughts: usize,
    /// Most tokens per thought.
    pub thought_tokens: usize,
    /// Tokens of past conversation shown to the model.
    pub memory_tokens: usize,
    /// Passages retrieved per question.
    pub passages: usize,
}

impl Default for AgentOptions {
    fn default() -> Self {
        Self {
            max_tokens: 512,
            thoughts: 1,
            thought_tokens: 64,
            memory_tokens: 1024,
            passages: 4,
        }
    }
}

/// One answered question.
#[derive(Debug)]
pub struct Turn {
    /// What the model thought before retrieving.
    pub thoughts: Vec<String>,
    /// The answer, its citations, the hits and the stage timings.
    pub answer: Answer,
}

/// A chat agent over one store.
pub struct Agent {
    pipeline: Pipeline,
    store: Arc<dyn ChunkStore>,
    memory: Arc<WindowMemory>,
    conversation: u64,
}

impl Agent {
    /// Loads a GGUF chat model and opens (or creates) the store at `store`.
    pub fn open(
        model: &str,
        store: &Path,
        options: AgentOptions,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let generator = LlamaGenerator::load(model, LlamaGeneratorOptions::default())?;
        let store = EdgeStore::open(store, EdgeStoreOptions::default())?;
        Ok(Self::new(Arc::new(generator), Arc::new(store), options)?)
    }

    /// Composes the pipeline over `store` (any kind: the embedded one, a Qdrant server, in
    /// memory): think, then BM25 over the store with the thoughts, the best
    /// passages at both ends of the prompt, memory of this conversation, the answer.
    pub fn new(
        generator: Arc<dyn Generator>,
        store: Arc<dyn ChunkStore>,
        options: AgentOptions,
    ) -> ragweave::Result<Self> {
        let think = ThinkThenRetrieve::new(generator.clone())
            .thoughts(options.thoughts)
            .sampling(SamplingParams {
                max_tokens: options.thought_tokens,
                temperature: 0.7,
                ..SamplingParams::default()
            });
        let memory = Arc::new(WindowMemory::new(options.memory_tokens));
        let pipeline = Pipeline::builder()
            .transform(Arc::new(think))
            .expert(
                "docs",
                store
                    .clone()
                    .retriever(&StoreSearch::mode(SearchMode::Sparse))?,
            )
            .candidates(options.passages)
            .arranger(Arc::new(LongContextReorder::default()))
            .prompt(PromptTemplate::default())
            .generator(generator)
            .memory(memory.clone())
            .sampling(SamplingParams {
                max_tokens: options.max_tokens,
                temperature: 0.3,
                ..SamplingParams::default()
            })
            .build()?;
        Ok(Self {
            pipeline,
            store,
            memory,
            conversation: 0,
        })
    }

    /// Adds or updates the documents under `dir` (a file or a directory).
    pub async fn ingest(&self, dir: &Path) -> ragweave::Result<IngestReport> {
        Ingestor::new(self.store.clone()).ingest(dir).await
    }

    /// The conversation memory (shared with the pipeline).
    pub fn memory(&self) -> &WindowMemory {
        &self.memory
    }

    /// The id memory files the current conversation under.
    pub fn conversation(&self) -> String {
        format!("chat-{}", self.conversation)
    }

    /// Starts a new conversation: earlier turns are no longer shown to the model.
    pub fn new_conversation(&mut self) {
        self.conversation += 1;
    }

    /// Answers `question` within the current conversation, handing each generated piece
    /// of text to `on_token` as it arrives.
    pub async fn ask(
        &self,
        question: &str,
        mut on_token: impl FnMut(&str),
    ) -> ragweave::Result<Turn> {
        let request = AskRequest::new(question).conversation(self.conversation());
        let mut events = self.pipeline.ask_stream(request);
        while let Some(event) = events.next().await {
            match event? {
                AskEvent::Hits(_) => {}
                AskEvent::Token(piece) => on_token(&piece),
                AskEvent::Done(answer) => {
                    let thoughts = answer
                        .trace
                        .stage("transform:think")
                        .map(|stage| stage.notes.clone())
                        .unwrap_or_default();
                    return Ok(Turn { thoughts, answer });
                }
            }
        }
        Err(ragweave::Error::component(
            "agent",
            "the answer stream ended early",
        ))
    }
}
