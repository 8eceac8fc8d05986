//! What can go wrong while loading a dataset or evaluating a pipeline on it.

use std::path::PathBuf;

/// An evaluation error. Every variant names the file (and line) or query it is about.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A file the dataset needs is not there.
    #[error("missing {what}: {path} does not exist")]
    MissingFile {
        /// What the file holds (corpus, queries, qrels).
        what: &'static str,
        /// Where it was looked for.
        path: PathBuf,
    },
    /// Reading a file failed.
    #[error("I/O error on {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A line that does not parse.
    #[error("{path}:{line}: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A file, or the queries left after joining with the judgements, is empty.
    #[error("empty dataset: {what}")]
    Empty {
        /// What turned out empty, with its path.
        what: String,
    },
    /// An option the caller gave makes no sense.
    #[error("invalid option {option}: {reason}")]
    Option {
        /// The option.
        option: &'static str,
        /// Why.
        reason: String,
    },
    /// The pipeline failed on a query.
    #[error("query `{query}` failed")]
    Query {
        /// The query id.
        query: String,
        /// The pipeline's error.
        #[source]
        source: ragweave_core::Error,
    },
    /// A report could not be drawn.
    #[error("chart: {0}")]
    Chart(String),
}

impl From<EvalError> for ragweave_core::Error {
    fn from(e: EvalError) -> Self {
        match e {
            EvalError::Io { path, source } => ragweave_core::Error::Io {
                path: path.display().to_string(),
                source,
            },
            other => {
                let transient =
                    matches!(&other, EvalError::Query { source, .. } if source.is_transient());
                ragweave_core::Error::failed("eval", transient, other)
            }
        }
    }
}

/// Result with [`EvalError`].
pub type EvalResult<T> = std::result::Result<T, EvalError>;
