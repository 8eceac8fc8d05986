//! [`MistralRsGenerator`]: chat completion on mistral.rs, GGUF or Hugging Face format.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use mistralrs::{
    Constraint, CustomLogitsProcessor, Model, NormalRequest, Request, RequestMessage, StopTokens,
    TextMessageRole, TextMessages,
};
use ragweave_core::{
    Completion, Error, GenerateRequest, Generator, Result, Role, SamplingParams, TokenStream,
};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::engine::{self, BuildSettings, EngineOptions};
use crate::error::MistralRsError;
use crate::guard::guard;
use crate::reply::{Reply, Step, TokenCounter};
use crate::source::{self, Source};
use crate::template::{self, TemplateSource};

/// How to load and run a [`MistralRsGenerator`]: also the fields of the `mistralrs` kind
/// beside `model` (whose `model`, `revision`, `parallel` and `chat_template` mean what the
/// llama.cpp generator's do, so a pipeline moves between the engines by `kind` alone).
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct MistralRsGeneratorOptions {
    /// Where the weights come from and how they run.
    #[serde(flatten, deserialize_with = "ragweave_core::config::flat")]
    pub engine: EngineOptions,
    /// `chatml`, Jinja template text, or a `.jinja` / `.json` template file; default: the
    /// model's template, else ChatML.
    pub chat_template: Option<String>,
    /// A `tokenizer.json` to use instead of the model's (GGUF files carry their own).
    pub tokenizer: Option<PathBuf>,
    /// Requests mistral.rs's scheduler runs together.
    pub parallel: usize,
}

impl Default for MistralRsGeneratorOptions {
    fn default() -> Self {
        Self {
            engine: EngineOptions::default(),
            chat_template: None,
            tokenizer: None,
            parallel: 4,
        }
    }
}

/// A chat model on mistral.rs: a GGUF file (`GgufModelBuilder`) or a Hugging Face-format
/// model (`TextModelBuilder`, optionally quantised in place), from a path or the hub.
/// Concurrent requests are batched by mistral.rs's scheduler; tokens stream as they are
/// sampled, and dropping the stream cancels the request.
///
/// ```no_run
/// use ragweave_core::{GenerateRequest, Generator};
/// use ragweave_mistralrs::{MistralRsGenerator, MistralRsGeneratorOptions};
/// # async fn run() -> ragweave_core::Result<()> {
/// let llm = MistralRsGenerator::load(
///     "models/qwen2.5-0.5b-instruct-q8_0.gguf",
///     MistralRsGeneratorOptions::default(),
/// )
/// .await?;
/// let answer = llm.complete(&GenerateRequest::user("Name a river.")).await?;
/// println!("{}", answer.text);
/// # Ok(()) }
/// ```
pub struct MistralRsGenerator {
    model: Model,
    name: String,
    architecture: String,
    template: TemplateSource,
    end_tokens: Vec<u32>,
}

impl MistralRsGenerator {
    /// Loads a model: a `.gguf` file, a Hugging Face-format directory, a hub repository
    /// `owner/repo` or a hub GGUF file `owner/repo/file.gguf`.
    pub async fn load(
        spec: &str,
        options: MistralRsGeneratorOptions,
    ) -> std::result::Result<Self, MistralRsError> {
        if options.parallel == 0 {
            return Err(MistralRsError::Option {
                option: "parallel",
                reason: "must be at least 1".into(),
            });
        }
        let source = source::locate(spec)?;
        let is_gguf = matches!(source, Source::GgufFile { .. } | Source::HubGguf { .. });
        if is_gguf && options.engine.isq.is_some() {
            return Err(MistralRsError::Option {
                option: "isq",
                reason: "applies to Hugging Face-format models; a GGUF file is quantised already"
                    .into(),
            });
        }
        let isq = options
            .engine
            .isq
            .as_deref()
            .map(engine::parse_isq)
            .transpose()?;
        let (template, template_source) =
            template::choose(options.chat_template.as_deref(), &source)?;
        let settings = BuildSettings {
            revision: options.engine.revision.as_deref(),
            isq,
            dtype: options.engine.dtype,
            max_sequences: options.parallel,
            cpu: options.engine.cpu,
        };
        let tokenizer = options.tokenizer.as_deref();
        let model = guard(
            "loading the model",
            engine::build_text(&source, &settings, &template, tokenizer),
        )
        .await?;
        let architecture = match &source {
            Source::GgufFile { architecture, .. } | Source::HfDir { architecture, .. } => {
                architecture.clone()
            }
            Source::HubGguf { .. } | Source::HubRepo { .. } => String::new(),
        };
        Ok(Self {
            model,
            name: source.name(),
            architecture,
            template: template_source,
            end_tokens: source.end_tokens(),
        })
    }

    /// The model's path or hub id.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `general.architecture` (GGUF) or `architectures[0]` (`config.json`) of a local model;
    /// empty for hub models.
    pub fn architecture(&self) -> &str {
        &self.architecture
    }

    /// Where the chat template came from.
    pub fn template_source(&self) -> &TemplateSource {
        &self.template
    }

    /// The longest sequence (prompt and reply) the model takes, as mistral.rs reports it.
    pub fn max_sequence_length(&self) -> Option<usize> {
        self.model.max_sequence_length().ok().flatten()
    }

    /// The mistral.rs model, for what this plugin does not wrap (raw logits, tokenising).
    pub fn model(&self) -> &Model {
        &self.model
    }

    async fn submit(&self, request: &GenerateRequest) -> Result<Reply> {
        request.params.validate()?;
        if request.messages.is_empty() {
            return Err(Error::invalid("messages", "no message to answer"));
        }
        let messages = request.messages.iter().fold(TextMessages::new(), |m, msg| {
            let role = match msg.role {
                Role::System => TextMessageRole::System,
                Role::User => TextMessageRole::User,
                Role::Assistant => TextMessageRole::Assistant,
            };
            m.add_message(role, &msg.content)
        });
        // Room for a few chunks: the engine does not wait on a slow reader for each token.
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let sampled = Arc::new(TokenCounter::default());
        let normal = NormalRequest {
            messages: RequestMessage::Chat {
                messages: messages.into(),
                enable_thinking: None,
                reasoning_effort: None,
            },
            sampling_params: sampling(&request.params, &self.end_tokens),
            response: tx,
            return_logprobs: false,
            is_streaming: true,
            id: 0,
            constraint: Constraint::None,
            suffix: None,
            tools: None,
            tool_choice: None,
            logits_processors: Some(vec![sampled.clone() as Arc<dyn CustomLogitsProcessor>]),
            return_raw_logits: false,
            web_search_options: None,
            model_id: None,
            truncate_sequence: false,
        };
        let sender = guard("sending a request", async {
            let sender = engine::sender(&self.model)?;
            engine::send(&sender, Request::Normal(Box::new(normal))).await?;
            Ok(sender)
        })
        .await?;
        Ok(Reply::new(
            rx,
            sender,
            sampled,
            request.params.max_tokens,
            &request.params.stop,
        ))
    }
}

/// ragweave's sampling in mistral.rs's terms. Stop sequences are matched by the plugin (so
/// streamed and completed text agree); `seed` has no per-request equivalent and is ignored.
fn sampling(p: &SamplingParams, end_tokens: &[u32]) -> mistralrs::SamplingParams {
    let greedy = p.temperature == 0.0;
    mistralrs::SamplingParams {
        temperature: (!greedy).then_some(f64::from(p.temperature)),
        top_k: if greedy {
            Some(1)
        } else {
            p.top_k.map(|k| k as usize)
        },
        top_p: p.top_p.map(f64::from),
        min_p: p.min_p.map(f64::from),
        repetition_penalty: p.repeat_penalty,
        max_len: Some(p.max_tokens),
        stop_toks: (!end_tokens.is_empty()).then(|| StopTokens::Ids(end_tokens.to_vec())),
        ..mistralrs::SamplingParams::neutral()
    }
}

#[async_trait]
impl Generator for MistralRsGenerator {
    fn name(&self) -> &str {
        "mistralrs"
    }

    async fn stream(&self, request: &GenerateRequest) -> Result<TokenStream> {
        let reply = self.submit(request).await?;
        let stream = futures::stream::unfold(reply, |mut reply| async move {
            match reply.next().await? {
                Ok(Step::Piece(text)) => Some((Ok(text), reply)),
                Ok(Step::Done { .. }) => None,
                Err(e) => Some((Err(e.into()), reply)),
            }
        });
        Ok(stream.boxed())
    }

    async fn complete(&self, request: &GenerateRequest) -> Result<Completion> {
        let mut reply = self.submit(request).await?;
        let mut text = String::new();
        while let Some(step) = reply.next().await {
            match step? {
                Step::Piece(piece) => text.push_str(&piece),
                Step::Done { reason, tokens } => {
                    return Ok(Completion {
                        text,
                        finish_reason: reason,
                        tokens,
                    });
                }
            }
        }
        Err(MistralRsError::EngineStopped.into())
    }
}

impl std::fmt::Debug for MistralRsGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MistralRsGenerator")
            .field("name", &self.name)
            .field("architecture", &self.architecture)
            .field("template", &self.template)
            .finish()
    }
}
