//! What can go wrong loading or running a candle model.

use std::path::PathBuf;

use ragweave_core::Error;

/// A model that cannot be loaded or run, with the file or setting at fault.
///
/// Loading functions return it as is, so callers can match on it; inside a pipeline it
/// becomes a [`ragweave_core::Error`] that keeps it as its source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CandleError {
    /// A file the model needs is not in its directory.
    #[error("`{dir}` has no {file}: {hint}")]
    MissingFile {
        /// The model directory.
        dir: PathBuf,
        /// The file that was looked for.
        file: String,
        /// What to do about it.
        hint: String,
    },
    /// A file exists but cannot be read or parsed.
    #[error("cannot read `{path}`: {reason}")]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What was wrong with it.
        reason: String,
    },
    /// The model's config names an architecture this crate does not run.
    #[error("`{path}` describes a `{found}` model; ragweave-candle runs {supported}")]
    UnsupportedArchitecture {
        /// The config.json.
        path: PathBuf,
        /// Its `model_type` / `architectures`.
        found: String,
        /// What is supported instead.
        supported: &'static str,
    },
    /// The tokenizer produces ids the model has no embedding for.
    #[error(
        "tokenizer `{path}` does not match the model: it has {tokenizer_vocab} tokens, the model embeds {model_vocab}"
    )]
    TokenizerMismatch {
        /// The tokenizer.json.
        path: PathBuf,
        /// Tokens the tokenizer knows.
        tokenizer_vocab: usize,
        /// Rows in the model's embedding table.
        model_vocab: usize,
    },
    /// The model could not be fetched from the Hugging Face hub.
    #[error(
        "cannot fetch `{file}` of `{repo}` from the Hugging Face hub ({reason}); offline, pass the model's local directory instead"
    )]
    Hub {
        /// The repository id.
        repo: String,
        /// The file being fetched.
        file: String,
        /// The underlying failure.
        reason: String,
    },
    /// A setting is out of range or asks for something this build cannot do.
    #[error("invalid option `{option}`: {reason}")]
    Option {
        /// The option's name.
        option: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// candle failed while loading weights or computing.
    #[error("the candle engine failed")]
    Engine(#[from] candle_core::Error),
}

impl From<CandleError> for Error {
    fn from(e: CandleError) -> Self {
        let component = match &e {
            CandleError::Engine(_) => "candle model",
            _ => "candle model loading",
        };
        Error::failed(component, false, e)
    }
}

pub(crate) fn bad_file(path: &std::path::Path, reason: impl ToString) -> CandleError {
    CandleError::BadFile {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}
