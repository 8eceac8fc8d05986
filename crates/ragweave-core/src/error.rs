//! The one error type every component returns.

use std::time::Duration;

/// Result alias used across ragweave.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in ragweave, typed so callers can tell what to do.
///
/// [`Error::is_transient`] separates failures worth a retry (a timeout, a dead server)
/// from permanent ones (bad input, bad config): the pipeline and plugins use it, and so can
/// callers that wrap a pipeline in a retry policy.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input value was unusable: an empty query, `top_k = 0`, a NaN in a vector.
    #[error("invalid input: {field}: {reason}")]
    InvalidInput {
        /// Where the bad value was, e.g. `query.text` or `chunks[3].vector`.
        field: String,
        /// What was wrong with it and what was expected.
        reason: String,
    },

    /// A vector had the wrong length for the embedder or store it met.
    #[error("dimension mismatch at {field}: expected {expected}, got {actual}")]
    DimensionMismatch {
        /// Where the vector came from.
        field: String,
        /// The dimension the receiver works in.
        expected: usize,
        /// The dimension that arrived.
        actual: usize,
    },

    /// A pipeline or component configuration was wrong.
    #[error("config error at `{path}`: {message}")]
    Config {
        /// Field path inside the config, e.g. `experts.dense.top_k`.
        path: String,
        /// What was expected there.
        message: String,
    },

    /// A config named a component kind no factory is registered for.
    #[error("config error at `{path}`: unknown {category} kind `{kind}` (registered: {known})")]
    UnknownKind {
        /// Field path of the offending `kind`.
        path: String,
        /// Component category, e.g. `retriever`.
        category: &'static str,
        /// The kind that was asked for.
        kind: String,
        /// Kinds that are registered, comma separated.
        known: String,
    },

    /// A name referred to a component, expert or record that does not exist.
    #[error("{what} `{name}` not found")]
    NotFound {
        /// What kind of thing was looked up (`expert`, `embedder`, `document`).
        what: &'static str,
        /// The name that was looked up.
        name: String,
    },

    /// A stage ran past its configured timeout.
    #[error("stage `{stage}` timed out after {after:?}")]
    Timeout {
        /// The pipeline stage, e.g. `retrieve:dense`.
        stage: String,
        /// The limit it exceeded.
        after: Duration,
    },

    /// A component failed; `source` carries the underlying error.
    #[error("{component} failed: {message}")]
    Component {
        /// Which component, e.g. `expert dense` or `generator`.
        component: String,
        /// What happened.
        message: String,
        /// Whether retrying the same call may succeed.
        transient: bool,
        /// The underlying error, where there is one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },

    /// Every chosen expert failed, so there is nothing to answer from.
    #[error("all {count} chosen experts failed; first: {first}")]
    AllExpertsFailed {
        /// How many experts were tried.
        count: usize,
        /// The first failure.
        first: Box<Error>,
    },

    /// A store directory is held by another process (or another handle in this one).
    #[error("store `{path}` is in use by another process; close it or use another directory")]
    StoreLocked {
        /// The store directory.
        path: String,
    },

    /// A store directory exists but cannot be read as a store.
    #[error("store `{path}` is unreadable: {reason}")]
    StoreCorrupt {
        /// The store directory or the file in it that failed.
        path: String,
        /// What was wrong, and what to do about it.
        reason: String,
    },

    /// Reading or writing a file failed.
    #[error("I/O error on `{path}`: {source}")]
    Io {
        /// The file involved.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// Shorthand for [`Error::InvalidInput`].
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::Config`].
    pub fn config(path: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            path: path.into(),
            message: message.into(),
        }
    }

    /// A permanent component failure without an underlying error value.
    pub fn component(component: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Component {
            component: component.into(),
            message: message.into(),
            transient: false,
            source: None,
        }
    }

    /// A transient component failure (a dead server, an overloaded queue): worth a retry.
    pub fn transient(component: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Component {
            component: component.into(),
            message: message.into(),
            transient: true,
            source: None,
        }
    }

    /// Whether the same call may succeed if retried.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Timeout { .. } | Error::StoreLocked { .. } => true,
            Error::Component { transient, .. } => *transient,
            Error::AllExpertsFailed { first, .. } => first.is_transient(),
            Error::Io { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::Interrupted
                    | std::io::ErrorKind::TimedOut
                    | std::io::ErrorKind::WouldBlock
            ),
            _ => false,
        }
    }

    /// Wraps an error with the component it came from, keeping timeouts and input errors as
    /// they are so callers can still match on them.
    pub(crate) fn in_component(self, component: &str) -> Self {
        match self {
            Error::Component { .. }
            | Error::Timeout { .. }
            | Error::InvalidInput { .. }
            | Error::DimensionMismatch { .. } => self,
            other => Error::Component {
                component: component.to_string(),
                message: other.to_string(),
                transient: other.is_transient(),
                source: Some(Box::new(other)),
            },
        }
    }
}

/// Reads a whole file, naming it in the error.
pub(crate) fn read_file(path: &std::path::Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_is_told_apart_from_permanent() {
        assert!(
            Error::Timeout {
                stage: "generate".into(),
                after: Duration::from_millis(5)
            }
            .is_transient()
        );
        assert!(Error::transient("generator", "connection refused").is_transient());
        assert!(!Error::invalid("query.text", "empty").is_transient());
        assert!(!Error::config("router.kind", "unknown").is_transient());
    }

    #[test]
    fn messages_say_what_and_where() {
        let e = Error::DimensionMismatch {
            field: "chunks[2].vector".into(),
            expected: 384,
            actual: 3,
        };
        assert_eq!(
            e.to_string(),
            "dimension mismatch at chunks[2].vector: expected 384, got 3"
        );
    }
}
