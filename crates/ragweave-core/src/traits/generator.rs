//! Text generation by an LLM.

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::message::ChatMessage;

/// How to sample. Fields a backend does not support are ignored by it, never an error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SamplingParams {
    /// Most tokens to generate; must be at least 1.
    pub max_tokens: usize,
    /// 0 is greedy.
    pub temperature: f32,
    /// Nucleus sampling mass.
    pub top_p: Option<f32>,
    /// Sample among this many most likely tokens.
    pub top_k: Option<u32>,
    /// Drop tokens below this fraction of the top token's probability.
    pub min_p: Option<f32>,
    /// Seed for reproducible sampling.
    pub seed: Option<u64>,
    /// Penalty for repeating recent tokens (1.0 is none).
    pub repeat_penalty: Option<f32>,
    /// Generation stops before the first occurrence of any of these; the stop text itself is
    /// not returned.
    pub stop: Vec<String>,
}

impl Default for SamplingParams {
    fn default() -> Self {
        Self {
            max_tokens: 512,
            temperature: 0.7,
            top_p: None,
            top_k: None,
            min_p: None,
            seed: None,
            repeat_penalty: None,
            stop: Vec::new(),
        }
    }
}

/// Most stop sequences one request may give.
pub const MAX_STOP_SEQUENCES: usize = 16;

/// Most bytes all of one request's stop sequences may hold together.
pub const MAX_STOP_BYTES: usize = 1024;

impl SamplingParams {
    /// Rejects values no backend can honour, and stop sequences past
    /// [`MAX_STOP_SEQUENCES`] or [`MAX_STOP_BYTES`].
    pub fn validate(&self) -> Result<()> {
        if self.max_tokens == 0 {
            return Err(Error::invalid("sampling.max_tokens", "must be at least 1"));
        }
        if !(self.temperature.is_finite() && self.temperature >= 0.0) {
            return Err(Error::invalid(
                "sampling.temperature",
                format!("must be a finite number >= 0, got {}", self.temperature),
            ));
        }
        if let Some(p) = self.top_p.filter(|p| !(*p > 0.0 && *p <= 1.0)) {
            return Err(Error::invalid(
                "sampling.top_p",
                format!("must be in (0, 1], got {p}"),
            ));
        }
        if self.stop.iter().any(String::is_empty) {
            return Err(Error::invalid("sampling.stop", "a stop sequence is empty"));
        }
        // Stop matching holds back as many bytes as the longest sequence and checks each one
        // per token: unbounded, a request could make every token cost a megabyte of work.
        if self.stop.len() > MAX_STOP_SEQUENCES {
            return Err(Error::invalid(
                "sampling.stop",
                format!(
                    "{} stop sequences, over the limit of {MAX_STOP_SEQUENCES}",
                    self.stop.len()
                ),
            ));
        }
        let bytes: usize = self.stop.iter().map(String::len).sum();
        if bytes > MAX_STOP_BYTES {
            return Err(Error::invalid(
                "sampling.stop",
                format!("{bytes} bytes of stop sequences, over the limit of {MAX_STOP_BYTES}"),
            ));
        }
        Ok(())
    }
}

/// A generation request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerateRequest {
    /// The conversation to continue; backends apply their chat template.
    pub messages: Vec<ChatMessage>,
    /// Sampling parameters.
    pub params: SamplingParams,
}

impl GenerateRequest {
    /// A single user message with default sampling.
    pub fn user(text: impl Into<String>) -> Self {
        Self {
            messages: vec![ChatMessage::user(text)],
            params: SamplingParams::default(),
        }
    }
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// The model ended its turn or hit a stop sequence.
    Stop,
    /// `max_tokens` was reached.
    Length,
}

/// A finished generation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    /// The generated text, stop sequence excluded.
    pub text: String,
    /// Why it ended.
    pub finish_reason: FinishReason,
    /// Tokens generated.
    pub tokens: usize,
}

/// Generated text pieces, one per token (a piece may be empty while a multi-byte character
/// or a possible stop sequence is held back).
pub type TokenStream = BoxStream<'static, Result<String>>;

/// An LLM that completes chat conversations.
///
/// Contract (checked by `ragweave_testkit::generator::check`): at most `max_tokens`
/// tokens, no text from the first stop sequence on, `complete` returns exactly the text
/// `stream` yields, and invalid [`SamplingParams`] are an error before any work. Dropping
/// the stream cancels generation: implementations must stop decoding once the receiver is
/// gone rather than finish the request in the background.
#[async_trait]
pub trait Generator: Send + Sync {
    /// Short name of the engine for traces and errors, e.g. `llama-cpp`.
    fn name(&self) -> &str;

    /// Starts generating and returns the token stream.
    async fn stream(&self, request: &GenerateRequest) -> Result<TokenStream>;

    /// Whether the engine can take requests now; `Err` says why not, and `GET /healthz`
    /// answers 503 with it. The default is always ready: engines that can break in ways
    /// a request would not show (a worker thread that died and could not be restarted)
    /// override it. It must be cheap: health checks come often.
    async fn health(&self) -> Result<()> {
        Ok(())
    }

    /// Generates the whole completion. The default collects [`Generator::stream`].
    async fn complete(&self, request: &GenerateRequest) -> Result<Completion> {
        let mut stream = self.stream(request).await?;
        let mut text = String::new();
        let mut tokens = 0;
        while let Some(piece) = stream.next().await {
            text.push_str(&piece?);
            tokens += 1;
        }
        let finish_reason = if tokens >= request.params.max_tokens {
            FinishReason::Length
        } else {
            FinishReason::Stop
        };
        Ok(Completion {
            text,
            finish_reason,
            tokens,
        })
    }
}
