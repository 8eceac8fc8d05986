//! What can be wrong with a store directory: the embedded store's own errors.

use ragweave_core::Error;

/// Why a store directory cannot be opened. It reaches callers inside
/// [`Error::Component`] (component `qdrant-edge`); find it with
/// [`Error::cause`]: `e.cause::<EdgeStoreError>()`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EdgeStoreError {
    /// Another process holds the store (or another handle in this one that opened it
    /// unshared). Transient: the holder may let go.
    #[error("store `{path}` is in use by another process; close it or use another directory")]
    Locked {
        /// The store directory.
        path: String,
    },
    /// The directory exists but cannot be read as a store.
    #[error("store `{path}` is unreadable: {reason}")]
    Corrupt {
        /// The store directory or the file in it that failed.
        path: String,
        /// What was wrong, and what to do about it.
        reason: String,
    },
}

impl From<EdgeStoreError> for Error {
    fn from(e: EdgeStoreError) -> Self {
        let transient = matches!(e, EdgeStoreError::Locked { .. });
        Error::failed("qdrant-edge", transient, e)
    }
}
