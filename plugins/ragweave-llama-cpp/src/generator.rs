//! [`LlamaGenerator`]: chat completion on a GGUF decoder.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;
use ragweave_core::{Completion, Error, GenerateRequest, Generator, Result, TokenStream};
use schemars::JsonSchema;
use serde::Deserialize;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

use crate::context_thread::ContextThread;
use crate::error::LlamaCppError;
use crate::model::{self, Loaded};
use crate::sampling;
use crate::template::Piece;
use crate::template::{ChatFormat, TemplateSource};
use crate::worker::{self, Event, Job, Order, Shape};

/// How to load and run a [`LlamaGenerator`]: also the fields of the `llama_cpp` kind
/// beside `model`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LlamaGeneratorOptions {
    /// Context window per request, in tokens; default: the model's training context, at most
    /// 4,096.
    pub context_length: Option<u32>,
    /// Requests decoded together in one batch (each gets `context_length` tokens of KV cache).
    pub parallel: u32,
    /// Most tokens per decode call (prompt chunks are this long).
    pub batch_size: u32,
    /// CPU threads; default: every core.
    pub threads: Option<u32>,
    /// Layers offloaded to the GPU (needs the `cuda` feature); 0 runs on the CPU.
    pub gpu_layers: u32,
    /// A llama.cpp template name (`chatml`, `llama3`, `gemma`, ...) or template text; default:
    /// the model's `tokenizer.chat_template`, else ChatML.
    pub chat_template: Option<String>,
    /// Hub revision for hub files.
    pub revision: Option<String>,
}

impl Default for LlamaGeneratorOptions {
    fn default() -> Self {
        Self {
            context_length: None,
            parallel: 4,
            batch_size: 512,
            threads: None,
            gpu_layers: 0,
            chat_template: None,
            revision: None,
        }
    }
}

/// A chat model in GGUF on llama.cpp: tokens stream from a worker thread that owns the
/// context; several requests share it by continuous batching. Should the thread die (a
/// panic), its open streams end with an error and the next request, or health check, starts
/// a new one.
///
/// ```no_run
/// use ragweave_core::{GenerateRequest, Generator};
/// use ragweave_llama_cpp::{LlamaGenerator, LlamaGeneratorOptions};
/// # async fn run() -> ragweave_core::Result<()> {
/// let llm = LlamaGenerator::load("models/qwen2.5-0.5b-instruct-q8_0.gguf", LlamaGeneratorOptions::default())?;
/// let answer = llm.complete(&GenerateRequest::user("Name a river.")).await?;
/// println!("{}", answer.text);
/// # Ok(()) }
/// ```
pub struct LlamaGenerator {
    model: Arc<LlamaModel>,
    jobs: ContextThread<Order>,
    format: ChatFormat,
    context: usize,
    path: PathBuf,
    architecture: String,
}

impl LlamaGenerator {
    /// Loads a GGUF file (a path, or `owner/repo/file.gguf` on the Hugging Face hub) and
    /// starts its worker.
    pub fn load(
        spec: &str,
        options: LlamaGeneratorOptions,
    ) -> std::result::Result<Self, LlamaCppError> {
        check_options(&options)?;
        let Loaded {
            model,
            path,
            architecture,
        } = model::load(spec, options.revision.as_deref(), options.gpu_layers)?;
        let trained = model.n_ctx_train().max(1);
        let context = options.context_length.unwrap_or(trained.min(4096));
        let format = ChatFormat::choose(&model, options.chat_template.as_deref())?;
        let shape = Shape {
            context,
            parallel: options.parallel,
            batch: options.batch_size.max(options.parallel),
            threads: model::threads(options.threads),
        };
        let jobs = worker::spawn(Arc::clone(&model), shape)?;
        Ok(Self {
            model,
            jobs,
            format,
            context: context as usize,
            path,
            architecture,
        })
    }

    /// Makes the worker thread panic, as a bug in it or in the bindings would, so tests can
    /// check what open streams and later requests see. Not part of the API.
    #[doc(hidden)]
    pub fn panic_worker(&self) -> std::result::Result<(), LlamaCppError> {
        self.jobs.send(Order::Panic)
    }

    /// Worker threads started to replace one that died, for the same tests. Not part of the
    /// API.
    #[doc(hidden)]
    pub fn worker_restarts(&self) -> usize {
        self.jobs.restarts()
    }

    /// The GGUF file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `general.architecture` of the model.
    pub fn architecture(&self) -> &str {
        &self.architecture
    }

    /// Context window per request, in tokens.
    pub fn context_length(&self) -> usize {
        self.context
    }

    /// Where the chat template came from.
    pub fn template_source(&self) -> &TemplateSource {
        &self.format.source
    }

    /// The prompt text `messages` become.
    pub fn render(&self, request: &GenerateRequest) -> std::result::Result<String, LlamaCppError> {
        self.format.render(&self.model, &request.messages)
    }

    /// The prompt's tokens, the way the worker will decode them: the template's control
    /// strings (`<|im_start|>`) are control tokens, the same text inside a message is text.
    pub fn prompt_tokens(
        &self,
        request: &GenerateRequest,
    ) -> std::result::Result<Vec<LlamaToken>, LlamaCppError> {
        let vocab = self.model.vocab();
        // A content that tokenizes differently with control strings parsed holds one.
        let injected = request.messages.iter().any(|m| {
            let text = m.content.as_bytes();
            vocab.tokenize(text, false, true) != vocab.tokenize(text, false, false)
        });
        let mut tokens = if injected {
            // Control strings are parsed in the template's text only. (Pieces are tokenized
            // apart, so a SentencePiece vocabulary may put a space before each one: a small
            // price, paid only by prompts that try to forge turns.)
            let pieces = self.format.render_pieces(&self.model, &request.messages)?;
            let mut tokens = Vec::new();
            for (n, piece) in pieces.iter().enumerate() {
                let (text, special) = match piece {
                    Piece::Template(t) => (t.as_str(), true),
                    Piece::Content(i) => (request.messages[*i].content.as_str(), false),
                };
                tokens.extend(vocab.tokenize(text.as_bytes(), n == 0, special));
            }
            tokens
        } else {
            let text = self.render(request)?;
            vocab.tokenize(text.as_bytes(), true, true)
        };
        // A template that writes the BOS text itself would otherwise give two.
        if tokens.len() > 1 && tokens[0] == vocab.bos() && tokens[1] == vocab.bos() {
            tokens.remove(0);
        }
        Ok(tokens)
    }

    fn submit(&self, request: &GenerateRequest) -> Result<UnboundedReceiver<Event>> {
        sampling::validate(&request.params)?;
        if let Some(i) = request
            .messages
            .iter()
            .position(|m| m.content.contains('\0'))
        {
            return Err(Error::invalid(
                format!("messages[{i}].content"),
                "contains a NUL character",
            ));
        }
        if request.messages.is_empty() {
            return Err(Error::invalid("messages", "no message to answer"));
        }
        let prompt = self.prompt_tokens(request)?;
        if prompt.len() >= self.context {
            return Err(LlamaCppError::PromptTooLong {
                tokens: prompt.len(),
                context: self.context,
            }
            .into());
        }
        let (events, receiver) = unbounded_channel();
        self.jobs.send(Order::Generate(Job {
            prompt,
            params: request.params.clone(),
            events,
        }))?;
        Ok(receiver)
    }
}

fn check_options(o: &LlamaGeneratorOptions) -> std::result::Result<(), LlamaCppError> {
    let bad = |option, reason: &str| {
        Err(LlamaCppError::Option {
            option,
            reason: reason.to_string(),
        })
    };
    if o.parallel == 0 {
        return bad("parallel", "must be at least 1");
    }
    if o.batch_size == 0 {
        return bad("batch_size", "must be at least 1");
    }
    if o.context_length == Some(0) {
        return bad("context_length", "must be at least 1");
    }
    // The KV cache holds every sequence's context: llama.cpp takes the total as a u32.
    let total = u64::from(o.context_length.unwrap_or(4096)) * u64::from(o.parallel);
    if total > u64::from(i32::MAX as u32) {
        return bad(
            "parallel",
            "context_length x parallel is more tokens than llama.cpp addresses",
        );
    }
    Ok(())
}

#[async_trait]
impl Generator for LlamaGenerator {
    fn name(&self) -> &str {
        "llama-cpp"
    }

    async fn stream(&self, request: &GenerateRequest) -> Result<TokenStream> {
        let events = self.submit(request)?;
        let stream = futures::stream::unfold(Some(events), |events| async move {
            let mut events = events?;
            match events.recv().await {
                Some(Event::Piece(text)) => Some((Ok(text), Some(events))),
                Some(Event::Failed(e)) => Some((Err(e), None)),
                Some(Event::Done { .. }) => None,
                // The worker died mid-generation: the text is cut, not finished.
                None => Some((Err(LlamaCppError::WorkerGone.into()), None)),
            }
        });
        Ok(stream.boxed())
    }

    async fn health(&self) -> Result<()> {
        Ok(self.jobs.health()?)
    }

    async fn complete(&self, request: &GenerateRequest) -> Result<Completion> {
        let mut events = self.submit(request)?;
        let mut text = String::new();
        while let Some(event) = events.recv().await {
            match event {
                Event::Piece(piece) => text.push_str(&piece),
                Event::Failed(e) => return Err(e),
                Event::Done { reason, tokens } => {
                    return Ok(Completion {
                        text,
                        finish_reason: reason,
                        tokens,
                    });
                }
            }
        }
        Err(LlamaCppError::WorkerGone.into())
    }
}

impl std::fmt::Debug for LlamaGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlamaGenerator")
            .field("path", &self.path)
            .field("architecture", &self.architecture)
            .field("context", &self.context)
            .finish()
    }
}
