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

    /// A component failed. Display names the component; `source` says why, so a chain
    /// printer ([`Error::report`]) shows each cause once.
    #[error("{component} failed")]
    Component {
        /// Which component, e.g. `expert dense` or `generator`.
        component: String,
        /// Whether retrying the same call may succeed.
        transient: bool,
        /// Why it failed: the engine's own error, or a [`Message`].
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// Every chosen expert failed, so there is nothing to answer from; `source` is the first
    /// failure.
    #[error("all {count} chosen experts failed")]
    AllExpertsFailed {
        /// How many experts were tried.
        count: usize,
        /// The first failure.
        #[source]
        first: Box<Error>,
    },

    /// Reading or writing a file failed.
    #[error("I/O error on `{path}`")]
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

    /// A permanent failure of `component`, said in words.
    pub fn component(component: impl Into<String>, message: impl Into<String>) -> Self {
        Self::failed(component, false, Message(message.into()))
    }

    /// A transient failure of `component` (a dead server, an overloaded queue), said in
    /// words: worth a retry.
    pub fn transient(component: impl Into<String>, message: impl Into<String>) -> Self {
        Self::failed(component, true, Message(message.into()))
    }

    /// `component` failed because of `source`, an error of its own engine.
    pub fn failed(
        component: impl Into<String>,
        transient: bool,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::Component {
            component: component.into(),
            transient,
            source: Box::new(source),
        }
    }

    /// The first error of type `T` in this error's chain (itself included): how a caller
    /// finds a plugin's own error, e.g. a store that another process holds.
    pub fn cause<T: std::error::Error + 'static>(&self) -> Option<&T> {
        let mut next: Option<&(dyn std::error::Error + 'static)> = Some(self);
        while let Some(e) = next {
            if let Some(found) = e.downcast_ref::<T>() {
                return Some(found);
            }
            next = e.source();
        }
        None
    }

    /// The error and its causes on one line, outermost first, joined by `: `; what a
    /// command line or a response body shows.
    ///
    /// ```
    /// use ragweave_core::Error;
    /// let e = Error::component("expert dense", "connection refused");
    /// assert_eq!(e.to_string(), "expert dense failed");
    /// assert_eq!(e.report().to_string(), "expert dense failed: connection refused");
    /// ```
    pub fn report(&self) -> Report<'_> {
        Report(self)
    }

    /// Whether the same call may succeed if retried.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Timeout { .. } => true,
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
            other => {
                let transient = other.is_transient();
                Error::failed(component, transient, other)
            }
        }
    }
}

/// A cause given in words, where a component has no error value of its own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Message(pub String);

/// [`Error::report`]: an error and its sources on one line.
#[derive(Debug, Clone, Copy)]
pub struct Report<'a>(&'a (dyn std::error::Error + 'static));

impl<'a> Report<'a> {
    /// The report of any error, a plugin's own included.
    pub fn of(error: &'a (dyn std::error::Error + 'static)) -> Self {
        Report(error)
    }
}

impl std::fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(c) = cause {
            write!(f, ": {c}")?;
            cause = c.source();
        }
        Ok(())
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
    fn a_chain_says_each_cause_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let inner = Error::Io {
            path: "corpus.jsonl".into(),
            source: io,
        };
        let e = inner.in_component("expert bm25");
        let all = Error::AllExpertsFailed {
            count: 2,
            first: Box::new(e),
        };
        let line = all.report().to_string();
        assert_eq!(
            line,
            "all 2 chosen experts failed: expert bm25 failed: I/O error on `corpus.jsonl`: no such file"
        );
        assert_eq!(line.matches("no such file").count(), 1);
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
