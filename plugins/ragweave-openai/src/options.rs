//! Where the server is and how to talk to it.

use std::time::Duration;

use ragweave_core::RetryPolicy;

use crate::error::OpenAiError;

/// How to reach an OpenAI-compatible server.
///
/// ```
/// use ragweave_openai::OpenAiOptions;
///
/// let options = OpenAiOptions::new("http://localhost:8080/v1", "qwen2.5-0.5b-instruct");
/// assert_eq!(options.timeout.as_secs(), 60);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct OpenAiOptions {
    /// The API root, with its version: `http://localhost:8080/v1` (llama-server, vLLM,
    /// `ragweave serve`), `https://api.openai.com/v1`, `http://localhost:11434/v1` (Ollama).
    pub base_url: String,
    /// The model the server is asked for.
    pub model: String,
    /// Sent as `Authorization: Bearer ...`; `None` sends no header.
    pub api_key: Option<String>,
    /// Longest wait for a reply, and for each next piece of a streamed one.
    pub timeout: Duration,
    /// Longest wait for a connection.
    pub connect_timeout: Duration,
    /// How 429s, 5xx and lost connections are retried (`Retry-After` is honoured). A stream is
    /// retried only until its first byte arrives.
    pub retry: RetryPolicy,
}

impl OpenAiOptions {
    /// Options for `model` at `base_url`: no API key, 60 s timeout, 5 s to connect, five
    /// attempts with backoff from 200 ms.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(5),
            retry: RetryPolicy {
                attempts: 5,
                initial_backoff: Duration::from_millis(200),
                max_backoff: Duration::from_secs(10),
            },
        }
    }

    /// Sets the API key.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Reads the API key from the environment variable `name`; unset or empty leaves none.
    pub fn api_key_from_env(mut self, name: &str) -> Self {
        self.api_key = std::env::var(name).ok().filter(|k| !k.trim().is_empty());
        self
    }

    /// The base URL without a trailing slash, checked to be http(s).
    pub(crate) fn root(&self) -> Result<String, OpenAiError> {
        let root = self.base_url.trim().trim_end_matches('/');
        let rest = root
            .strip_prefix("http://")
            .or_else(|| root.strip_prefix("https://"));
        match rest {
            Some(host) if !host.is_empty() && !host.starts_with('/') => Ok(root.to_string()),
            _ => Err(OpenAiError::Option {
                option: "base_url",
                reason: format!(
                    "`{}` is not an http:// or https:// URL (e.g. http://localhost:8080/v1)",
                    self.base_url
                ),
            }),
        }
    }
}
