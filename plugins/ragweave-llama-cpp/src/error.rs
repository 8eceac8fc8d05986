//! What can go wrong loading and running GGUF models, checked before llama.cpp sees the input
//! where llama.cpp would abort the process instead of returning an error.

use std::path::PathBuf;

use ragweave_core::Error;

/// An error of the llama.cpp plugin. Converts into [`ragweave_core::Error`]; a prompt too long
/// for the context becomes [`Error::InvalidInput`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LlamaCppError {
    /// No file at the path.
    #[error("no GGUF model at {path}")]
    MissingFile {
        /// The path looked for.
        path: PathBuf,
    },
    /// The file does not start with the GGUF magic bytes.
    #[error("{path} is not a GGUF file (it starts with {found:?}, not \"GGUF\")")]
    NotGguf {
        /// The file.
        path: PathBuf,
        /// Its first bytes.
        found: String,
    },
    /// llama.cpp does not know the model's architecture.
    #[error("{path}: architecture `{architecture}` is not supported by this llama.cpp build")]
    UnsupportedArchitecture {
        /// The file.
        path: PathBuf,
        /// `general.architecture` from its metadata.
        architecture: String,
    },
    /// llama.cpp refused the file for another reason (its log's words).
    #[error("llama.cpp could not load {path}: {reason}")]
    LoadFailed {
        /// The file.
        path: PathBuf,
        /// What llama.cpp logged.
        reason: String,
    },
    /// The model cannot do what it was loaded for (an embedder without pooled outputs, a
    /// reranker without a classification head).
    #[error("{path}: {reason}")]
    WrongKind {
        /// The file.
        path: PathBuf,
        /// What it lacks.
        reason: String,
    },
    /// Downloading from the Hugging Face hub failed.
    #[error(
        "could not fetch `{spec}` from the Hugging Face hub: {reason} (offline? pass a local .gguf path)"
    )]
    Hub {
        /// `owner/repo/file.gguf` or `owner/repo`.
        spec: String,
        /// The hub client's error.
        reason: String,
    },
    /// GPU layers were asked of a build without a GPU backend.
    #[error(
        "gpu_layers = {requested} but this build has no GPU backend (build ragweave-llama-cpp with the `cuda` feature)"
    )]
    NoGpu {
        /// Layers asked for.
        requested: u32,
    },
    /// The prompt does not fit the context window.
    #[error(
        "the prompt is {tokens} tokens, but the context holds {context} per sequence (raise context_length or shorten the prompt)"
    )]
    PromptTooLong {
        /// Prompt tokens.
        tokens: usize,
        /// Context tokens per sequence.
        context: usize,
    },
    /// An option is out of range.
    #[error("option `{option}`: {reason}")]
    Option {
        /// The option.
        option: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The chat template could not be applied.
    #[error("chat template: {0}")]
    Template(String),
    /// llama.cpp failed while running (context creation, decoding).
    #[error("llama.cpp: {0}")]
    Engine(String),
    /// The worker thread that owns the model's context is gone.
    #[error("the llama.cpp worker thread stopped")]
    WorkerGone,
}

impl From<LlamaCppError> for Error {
    fn from(e: LlamaCppError) -> Self {
        match e {
            LlamaCppError::PromptTooLong { .. } => Error::invalid("messages", e.to_string()),
            other => Error::failed("llama.cpp", false, other),
        }
    }
}
