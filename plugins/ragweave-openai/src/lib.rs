//! ragweave over OpenAI-compatible HTTP servers: a [`Generator`](ragweave_core::Generator)
//! over `/chat/completions` (streamed with server-sent events), an
//! [`Embedder`](ragweave_core::Embedder) over `/embeddings`, and a
//! [`Reranker`](ragweave_core::Reranker) over `/rerank`: vLLM, llama-server, Ollama, TEI,
//! OpenAI itself, or another `ragweave serve`.
//!
//! Requests are retried with backoff on 429, 5xx and lost connections, honouring
//! `Retry-After`; errors are typed ([`OpenAiError`]) and keep the server's own message.
//!
//! In a pipeline config, kinds `openai`, `openai_embedder` and `openai_reranker`:
//!
//! ```toml
//! [generators.llm]
//! kind = "openai"
//! base_url = "http://localhost:8080/v1"
//! model = "qwen2.5-0.5b-instruct"
//! ```

mod client;
mod config;
mod embedder;
mod error;
mod generator;
mod options;
mod reranker;
mod sse;
mod wire;

pub use config::{OpenAiEmbedderConfig, OpenAiGeneratorConfig, OpenAiRerankerConfig};
pub use embedder::{OpenAiEmbedder, OpenAiEmbedderOptions};
pub use error::OpenAiError;
pub use generator::OpenAiGenerator;
pub use options::OpenAiOptions;
pub use ragweave_core::RetryPolicy;
pub use reranker::OpenAiReranker;
/// The decoder of streamed replies, for the fuzzing harness (`ragweave-fuzz`); not part of
/// the API.
#[doc(hidden)]
pub use sse::{EventTooLarge, MAX_EVENT_BYTES, SseDecoder};

/// Adds the `openai`, `openai_embedder` and `openai_reranker` kinds to `registry`.
pub fn register(registry: &mut ragweave_core::config::Registry) {
    registry
        .register::<OpenAiGeneratorConfig>()
        .register::<OpenAiEmbedderConfig>()
        .register::<OpenAiRerankerConfig>();
}
