//! What can go wrong loading and running models on mistral.rs, with the model named.

use std::path::PathBuf;

use ragweave_core::Error;

/// An error of the mistral.rs plugin. Converts into [`ragweave_core::Error`]: a prompt or text
/// the model cannot take becomes [`Error::InvalidInput`], everything else a component error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MistralRsError {
    /// Nothing at the path (and it does not look like a hub id).
    #[error("no model at {path}: {expected}")]
    MissingFile {
        /// The path looked for.
        path: PathBuf,
        /// What was expected there.
        expected: String,
    },
    /// A file given as a GGUF model does not start with the GGUF magic bytes.
    #[error("{path} is not a GGUF file (it starts with {found:?}, not \"GGUF\")")]
    NotGguf {
        /// The file.
        path: PathBuf,
        /// Its first bytes.
        found: String,
    },
    /// mistral.rs has no implementation of the model's architecture for this loader.
    #[error(
        "{model}: architecture `{architecture}` is not supported by mistral.rs {loader} (supported: {supported})"
    )]
    UnsupportedArchitecture {
        /// The model.
        model: String,
        /// Its architecture (`general.architecture`, or `architectures` in `config.json`).
        architecture: String,
        /// `GGUF` or `embedding models`.
        loader: &'static str,
        /// What it does support.
        supported: String,
    },
    /// The model cannot do what it was loaded for (a GGUF file as an embedder, an embedding
    /// model with a pooling mistral.rs does not implement).
    #[error("{model}: {reason}")]
    WrongKind {
        /// The model.
        model: String,
        /// What is wrong.
        reason: String,
    },
    /// mistral.rs refused to load the model (its words).
    #[error("mistral.rs could not load {model}: {reason}")]
    LoadFailed {
        /// The model.
        model: String,
        /// mistral.rs's error chain.
        reason: String,
    },
    /// Fetching the model from the Hugging Face hub failed.
    #[error(
        "could not fetch `{spec}` from the Hugging Face hub: {reason} (offline? pass a local path)"
    )]
    Hub {
        /// The hub id.
        spec: String,
        /// mistral.rs's error chain.
        reason: String,
    },
    /// An option is out of range or does not apply to this model.
    #[error("option `{option}`: {reason}")]
    Option {
        /// The option.
        option: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// mistral.rs rejected the input (a prompt longer than the model's context, an empty one);
    /// its message.
    #[error("mistral.rs rejected the input: {0}")]
    Rejected(String),
    /// mistral.rs failed while running.
    #[error("mistral.rs: {0}")]
    Engine(String),
    /// mistral.rs panicked; the panic was caught at the plugin's boundary.
    #[error("mistral.rs panicked while {during}: {message}")]
    Panicked {
        /// What the plugin was doing.
        during: &'static str,
        /// The panic's message.
        message: String,
    },
    /// The engine thread is gone (it panicked or exited) and the request was not finished.
    #[error(
        "the mistral.rs engine stopped without finishing the request (its thread panicked or exited; see the log); reload the model"
    )]
    EngineStopped,
}

impl From<MistralRsError> for Error {
    fn from(e: MistralRsError) -> Self {
        match e {
            MistralRsError::Rejected(_) => Error::invalid("messages", e.to_string()),
            other => Error::failed("mistral.rs", false, other),
        }
    }
}

/// An anyhow error with its causes, on one line.
pub(crate) fn chain(e: &anyhow::Error) -> String {
    format!("{e:#}")
}
