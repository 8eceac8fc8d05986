//! What can go wrong talking to a Qdrant server, with the server and collection named.

use qdrant_client::QdrantError as ClientError;
use ragweave_core::Error;
use tonic::{Code, Status};

/// An error of the Qdrant plugin. Converts into [`ragweave_core::Error`]: a vector-size
/// mismatch becomes [`Error::DimensionMismatch`], an unknown collection [`Error::NotFound`],
/// everything else a component error carrying this value as its source (transient where
/// [`QdrantError::is_transient`] says so).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QdrantError {
    /// The server did not answer (not running, wrong address, network down).
    #[error("Qdrant server at {url} is unreachable: {reason}")]
    Unreachable {
        /// The URL tried.
        url: String,
        /// What the transport said.
        reason: String,
    },
    /// The server refused the API key (or none was given and it wants one).
    #[error(
        "Qdrant server at {url} refused the API key ({reason}); check the key (QDRANT_API_KEY)"
    )]
    Unauthorized {
        /// The server.
        url: String,
        /// The server's words.
        reason: String,
    },
    /// The collection does not exist on the server.
    #[error("collection `{collection}` does not exist on the Qdrant server at {url}")]
    UnknownCollection {
        /// The server.
        url: String,
        /// The collection asked for.
        collection: String,
    },
    /// The collection's dense vectors have another length than the embedder's.
    #[error(
        "collection `{collection}` at {url} holds {stored}-d dense vectors, but the embedder makes {given}-d ones"
    )]
    VectorSize {
        /// The server.
        url: String,
        /// The collection.
        collection: String,
        /// The collection's vector size.
        stored: usize,
        /// The size the caller brought.
        given: usize,
    },
    /// The collection exists but is not laid out as a ragweave store, or was made with
    /// other settings than the ones asked for (another embedding model, BM25 length).
    #[error("collection `{collection}` at {url}: {reason}")]
    Incompatible {
        /// The server.
        url: String,
        /// The collection.
        collection: String,
        /// What does not fit, and what to do.
        reason: String,
    },
    /// The server answered an operation with an error.
    #[error("Qdrant {operation} on `{collection}` at {url} failed: {code:?}: {message}")]
    Server {
        /// The server.
        url: String,
        /// The collection.
        collection: String,
        /// What was being done (`upsert`, `query`, ...).
        operation: &'static str,
        /// The gRPC status code.
        code: Code,
        /// The server's message.
        message: String,
        /// How long the server asked to wait before retrying (`retry-after` on
        /// `RESOURCE_EXHAUSTED`).
        retry_after: Option<std::time::Duration>,
    },
    /// A transient failure outlasted the retry policy.
    #[error("Qdrant {operation} at {url} still failing after {attempts} attempts: {last}")]
    GaveUp {
        /// The server.
        url: String,
        /// What was being done.
        operation: &'static str,
        /// How many times it was tried.
        attempts: u32,
        /// The last failure.
        last: Box<QdrantError>,
    },
    /// An option is wrong (an ill-formed URL, a zero batch size).
    #[error("Qdrant option `{option}`: {reason}")]
    Option {
        /// The option.
        option: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl QdrantError {
    /// Whether the same call may succeed if retried: the server was unreachable,
    /// overloaded or slow (gRPC `UNAVAILABLE`, `DEADLINE_EXCEEDED`, `RESOURCE_EXHAUSTED`).
    pub fn is_transient(&self) -> bool {
        match self {
            QdrantError::Unreachable { .. } => true,
            QdrantError::Server { code, .. } => transient_code(*code),
            QdrantError::GaveUp { last, .. } => last.is_transient(),
            _ => false,
        }
    }

    /// The error of `operation` on `collection` from what the client returned.
    pub(crate) fn from_client(
        url: &str,
        collection: &str,
        operation: &'static str,
        error: ClientError,
    ) -> Self {
        let (status, wait) = match error {
            ClientError::ResponseError { status } => (status, None),
            ClientError::ResourceExhaustedError {
                status,
                retry_after_seconds,
            } => (
                status,
                Some(std::time::Duration::from_secs(retry_after_seconds)),
            ),
            other => {
                return QdrantError::Server {
                    url: url.into(),
                    collection: collection.into(),
                    operation,
                    code: Code::Unknown,
                    message: other.to_string(),
                    retry_after: None,
                };
            }
        };
        Self::from_status(url, collection, operation, &status, wait)
    }

    /// How long the server asked the client to wait, if it did.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            QdrantError::Server { retry_after, .. } => *retry_after,
            QdrantError::GaveUp { last, .. } => last.retry_after(),
            _ => None,
        }
    }

    fn from_status(
        url: &str,
        collection: &str,
        operation: &'static str,
        status: &Status,
        retry_after: Option<std::time::Duration>,
    ) -> Self {
        let message = status.message().to_string();
        match status.code() {
            Code::Unauthenticated | Code::PermissionDenied => QdrantError::Unauthorized {
                url: url.into(),
                reason: message,
            },
            // qdrant-client reports a failed connection as INTERNAL "Failed to connect".
            Code::Internal | Code::Unknown | Code::Unavailable if connection_lost(&message) => {
                QdrantError::Unreachable {
                    url: url.into(),
                    reason: message,
                }
            }
            Code::NotFound
                if message.contains("doesn't exist")
                    || message.contains("Not found: Collection") =>
            {
                QdrantError::UnknownCollection {
                    url: url.into(),
                    collection: collection.into(),
                }
            }
            code => QdrantError::Server {
                url: url.into(),
                collection: collection.into(),
                operation,
                code,
                message,
                retry_after,
            },
        }
    }
}

fn transient_code(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted
    )
}

/// Whether a status message says the connection failed or broke, rather than the server
/// refusing the request.
fn connection_lost(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "failed to connect",
        "transport error",
        "connection refused",
        "connection reset",
        "broken pipe",
        "error trying to connect",
        "connection closed",
        "dns error",
    ]
    .iter()
    .any(|s| m.contains(s))
}

impl From<QdrantError> for Error {
    fn from(e: QdrantError) -> Self {
        match e {
            QdrantError::VectorSize {
                url,
                collection,
                stored,
                given,
            } => Error::DimensionMismatch {
                field: format!("dense vector of collection `{collection}` at {url}"),
                expected: stored,
                actual: given,
            },
            QdrantError::UnknownCollection { url, collection } => Error::NotFound {
                what: "Qdrant collection",
                name: format!("{collection}` at `{url}"),
            },
            QdrantError::Option { option, reason } => Error::config(option, reason),
            other => {
                let transient = other.is_transient();
                Error::failed("qdrant", transient, other)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(code: Code, message: &str) -> QdrantError {
        QdrantError::from_status(
            "http://q:6334",
            "docs",
            "upsert",
            &Status::new(code, message),
            None,
        )
    }

    #[test]
    fn statuses_become_typed_errors_with_the_right_transience() {
        let down = classify(Code::Internal, "Failed to connect to http://q:6334/: ...");
        assert!(matches!(down, QdrantError::Unreachable { .. }) && down.is_transient());
        assert!(classify(Code::Unavailable, "overloaded").is_transient());
        assert!(classify(Code::DeadlineExceeded, "deadline").is_transient());
        assert!(classify(Code::ResourceExhausted, "rate limited").is_transient());
        let key = classify(Code::Unauthenticated, "Invalid api-key");
        assert!(matches!(key, QdrantError::Unauthorized { .. }) && !key.is_transient());
        let bad = classify(Code::InvalidArgument, "Wrong input: Vector dimension error");
        assert!(!bad.is_transient());
        let gone = classify(
            Code::NotFound,
            "Not found: Collection `docs` doesn't exist!",
        );
        assert!(matches!(gone, QdrantError::UnknownCollection { .. }));
        let e: Error = gone.into();
        assert!(e.to_string().contains("docs` at `http://q:6334"), "{e}");
    }

    #[test]
    fn resource_exhausted_keeps_the_servers_retry_after() {
        let mut status = Status::resource_exhausted("too many requests");
        status
            .metadata_mut()
            .insert("retry-after", "3".parse().unwrap());
        let e = QdrantError::from_client("u", "c", "upsert", ClientError::from(status));
        assert!(e.is_transient());
        assert_eq!(e.retry_after(), Some(std::time::Duration::from_secs(3)));
    }

    #[test]
    fn a_size_mismatch_names_both_sizes() {
        let e: Error = QdrantError::VectorSize {
            url: "http://q:6334".into(),
            collection: "docs".into(),
            stored: 384,
            given: 64,
        }
        .into();
        assert!(
            matches!(
                e,
                Error::DimensionMismatch {
                    expected: 384,
                    actual: 64,
                    ..
                }
            ),
            "{e}"
        );
    }
}
