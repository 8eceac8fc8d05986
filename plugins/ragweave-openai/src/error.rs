//! What can go wrong talking to an OpenAI-compatible server.

use std::time::Duration;

use ragweave_core::{Error, Retryable};

/// An error from an OpenAI-compatible server or on the way to it. Every variant names the
/// URL; those with a status keep the server's own message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenAiError {
    /// No connection: refused, DNS, TLS, or the connection broke before a reply.
    #[error("cannot reach {url}: {reason}")]
    Unreachable {
        /// The request's URL.
        url: String,
        /// What the HTTP client said.
        reason: String,
    },

    /// No reply, or no next piece of a streamed reply, within the timeout.
    #[error("{url} did not answer within {after:?}")]
    Timeout {
        /// The request's URL.
        url: String,
        /// The limit.
        after: Duration,
    },

    /// The server refused the API key (401 or 403).
    #[error("{url} refused the API key ({status}): {message}")]
    Unauthorized {
        /// The request's URL.
        url: String,
        /// 401 or 403.
        status: u16,
        /// The server's message.
        message: String,
    },

    /// The server does not serve the model that was asked for.
    #[error("{url} does not serve model `{model}`: {message}")]
    UnknownModel {
        /// The request's URL.
        url: String,
        /// The model named in the request.
        model: String,
        /// The server's message.
        message: String,
    },

    /// The server rejected the request as invalid (400, 413, 422).
    #[error("{url} rejected the request ({status}){}: {message}", param.as_ref().map(|p| format!(" at `{p}`")).unwrap_or_default())]
    Rejected {
        /// The request's URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The request field the server blamed, when it said.
        param: Option<String>,
        /// The server's message.
        message: String,
    },

    /// Any other error status; 429 and 5xx are transient.
    #[error("{url} answered {status}: {message}")]
    Status {
        /// The request's URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The server's message (its JSON error's `message`, else the body's start).
        message: String,
        /// The server's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },

    /// The reply was not what the OpenAI API describes.
    #[error("unexpected reply from {url}: {reason}")]
    Decode {
        /// The request's URL.
        url: String,
        /// What was wrong with it.
        reason: String,
    },

    /// A transient failure outlasted the retry policy.
    #[error("{url}: gave up after {attempts} attempts; last: {last}")]
    GaveUp {
        /// The request's URL.
        url: String,
        /// Tries made.
        attempts: u32,
        /// The last failure.
        last: Box<OpenAiError>,
    },

    /// An option could not be used (a malformed base URL, a missing API key variable).
    #[error("OpenAI option `{option}`: {reason}")]
    Option {
        /// The option.
        option: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl OpenAiError {
    /// Whether the same request may succeed later: no connection, a timeout, 408, 429 or a
    /// 5xx other than 501.
    pub fn is_transient(&self) -> bool {
        match self {
            OpenAiError::Unreachable { .. } | OpenAiError::Timeout { .. } => true,
            OpenAiError::Status { status, .. } => transient_status(*status),
            OpenAiError::GaveUp { last, .. } => last.is_transient(),
            _ => false,
        }
    }

    /// How long the server asked to wait before retrying.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            OpenAiError::Status { retry_after, .. } => *retry_after,
            OpenAiError::GaveUp { last, .. } => last.retry_after(),
            _ => None,
        }
    }
}

/// 408, 429 and the 5xx a restarting or overloaded server answers; 501 (not implemented) is
/// permanent.
pub(crate) fn transient_status(status: u16) -> bool {
    matches!(status, 408 | 429) || (status >= 500 && status != 501)
}

impl Retryable for OpenAiError {
    fn is_transient(&self) -> bool {
        OpenAiError::is_transient(self)
    }

    fn retry_after(&self) -> Option<Duration> {
        OpenAiError::retry_after(self)
    }
}

impl From<OpenAiError> for Error {
    fn from(e: OpenAiError) -> Self {
        match e {
            OpenAiError::Rejected {
                ref param,
                ref message,
                ref url,
                ..
            } => Error::invalid(
                param.clone().unwrap_or_else(|| url.clone()),
                message.clone(),
            ),
            OpenAiError::UnknownModel {
                ref model, ref url, ..
            } => Error::NotFound {
                what: "model",
                name: format!("{model} (at {url})"),
            },
            OpenAiError::Option { option, ref reason } => Error::config(option, reason.clone()),
            OpenAiError::Timeout { ref url, after } => Error::Timeout {
                stage: url.clone(),
                after,
            },
            other => {
                let transient = other.is_transient();
                Error::failed("openai", transient, other)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_statuses_are_told_apart() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(transient_status(s), "{s}");
        }
        for s in [400, 401, 404, 413, 422, 501] {
            assert!(!transient_status(s), "{s}");
        }
    }

    #[test]
    fn core_errors_keep_the_kind_and_the_servers_words() {
        let e: Error = OpenAiError::Rejected {
            url: "http://h/v1/embeddings".into(),
            status: 400,
            param: Some("input[0]".into()),
            message: "blank text".into(),
        }
        .into();
        assert!(
            matches!(&e, Error::InvalidInput { field, reason } if field == "input[0]" && reason == "blank text"),
            "{e:?}"
        );
        let e: Error = OpenAiError::Status {
            url: "u".into(),
            status: 503,
            message: "busy".into(),
            retry_after: None,
        }
        .into();
        assert!(
            e.is_transient() && e.report().to_string().contains("busy"),
            "{e}"
        );
        let e: Error = OpenAiError::UnknownModel {
            url: "u".into(),
            model: "gpt-x".into(),
            message: "no".into(),
        }
        .into();
        assert!(matches!(e, Error::NotFound { what: "model", .. }));
    }
}
