//! Where the server is and how to talk to it.

use std::time::Duration;

use ragweave_core::RetryPolicy;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::error::OpenAiError;

/// How to reach an OpenAI-compatible server: also the fields every kind of this plugin
/// (`openai`, `openai_embedder`, `openai_reranker`) takes beside `model`.
///
/// ```
/// use ragweave_openai::OpenAiOptions;
///
/// let options = OpenAiOptions::at("http://localhost:8080/v1");
/// assert_eq!(options.timeout.as_secs(), 60);
/// ```
#[derive(Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct OpenAiOptions {
    /// The API root, with its version: `http://localhost:8080/v1` (llama-server, vLLM,
    /// `ragweave serve`), `https://api.openai.com/v1`, `http://localhost:11434/v1` (Ollama).
    /// Default: `$OPENAI_BASE_URL`.
    pub base_url: Option<String>,
    /// The environment variable holding the API key (never the key itself in a file);
    /// unset or empty sends no key.
    pub api_key_env: String,
    /// The API key itself, for code that has it; wins over `api_key_env`.
    #[serde(skip)]
    pub api_key: Option<String>,
    /// Seconds to wait for a reply, or for each next piece of a streamed one.
    #[serde(
        rename = "timeout_secs",
        with = "ragweave_core::config::duration::secs"
    )]
    #[schemars(rename = "timeout_secs", with = "f64")]
    pub timeout: Duration,
    /// Seconds to wait for a connection.
    #[serde(
        rename = "connect_timeout_secs",
        with = "ragweave_core::config::duration::secs"
    )]
    #[schemars(rename = "connect_timeout_secs", with = "f64")]
    pub connect_timeout: Duration,
    /// How 429s, 5xx and lost connections are retried (`Retry-After` is honoured). A stream
    /// is retried only until its first byte arrives.
    #[serde(flatten, deserialize_with = "ragweave_core::config::flat")]
    pub retry: RetryPolicy,
}

impl Default for OpenAiOptions {
    /// `$OPENAI_BASE_URL`, the key from `$OPENAI_API_KEY`, 60 s per reply, 5 s to connect,
    /// [`RetryPolicy`]'s defaults.
    fn default() -> Self {
        Self {
            base_url: None,
            api_key_env: "OPENAI_API_KEY".into(),
            api_key: None,
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
        }
    }
}

impl std::fmt::Debug for OpenAiOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("OpenAiOptions")
            .field("base_url", &self.base_url)
            .field("api_key_env", &self.api_key_env)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl OpenAiOptions {
    /// The defaults, at `base_url`.
    pub fn at(base_url: impl Into<String>) -> Self {
        Self {
            base_url: Some(base_url.into()),
            ..Self::default()
        }
    }

    /// Sends `key` as `Authorization: Bearer ...`.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The key to send: the one given, else `$api_key_env` when set and not blank.
    pub(crate) fn resolved_api_key(&self) -> Option<String> {
        self.api_key.clone().or_else(|| {
            std::env::var(&self.api_key_env)
                .ok()
                .filter(|k| !k.trim().is_empty())
        })
    }

    /// The base URL without a trailing slash, checked to be http(s); `$OPENAI_BASE_URL`
    /// when none is given.
    pub(crate) fn root(&self) -> Result<String, OpenAiError> {
        let given = match &self.base_url {
            Some(url) => url.clone(),
            None => std::env::var("OPENAI_BASE_URL").map_err(|_| OpenAiError::Option {
                option: "base_url",
                reason: "is not set and neither is $OPENAI_BASE_URL".into(),
            })?,
        };
        let root = given.trim().trim_end_matches('/');
        let rest = root
            .strip_prefix("http://")
            .or_else(|| root.strip_prefix("https://"));
        match rest {
            Some(host) if !host.is_empty() && !host.starts_with('/') => Ok(root.to_string()),
            _ => Err(OpenAiError::Option {
                option: "base_url",
                reason: format!(
                    "`{given}` is not an http:// or https:// URL (e.g. http://localhost:8080/v1)"
                ),
            }),
        }
    }
}
