//! What can be wrong with one input file.

use std::path::PathBuf;

/// A problem with one input file. Ingestion reports it and goes on with the other files;
/// nothing already stored for that file is touched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// The file could not be read (permissions, a vanished file, an I/O error).
    #[error("cannot read `{path}`")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A text file is not valid UTF-8.
    #[error("`{path}` is not valid UTF-8 (first bad byte at offset {offset})")]
    InvalidUtf8 {
        /// The file.
        path: PathBuf,
        /// Byte offset of the first invalid sequence.
        offset: usize,
    },
    /// The file holds no text.
    #[error("`{path}` is empty")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The file is larger than the configured limit.
    #[error(
        "`{path}` is {bytes} bytes, over the {limit}-byte limit (raise it with `max_file_bytes` / `--max-file-mb`)"
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
    /// The file looks binary (it holds NUL bytes); it is skipped.
    #[error("`{path}` looks binary; skipped")]
    Binary {
        /// The file.
        path: PathBuf,
    },
    /// The file's extension is not one ingestion reads; it is skipped.
    #[error("`{path}`: unsupported file type; skipped (reads txt, md, json, jsonl, html)")]
    Unsupported {
        /// The file.
        path: PathBuf,
    },
    /// A symlink points outside the ingested root; it is not followed.
    #[error("`{path}` links outside the ingested root; not followed")]
    OutsideRoot {
        /// The link.
        path: PathBuf,
    },
    /// A JSON or JSONL file is not in a shape ingestion reads.
    #[error("`{path}`{}: {reason}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The 1-based line, for JSONL.
        line: Option<usize>,
        /// What was wrong and what was expected.
        reason: String,
    },
}

impl IngestError {
    /// Whether this is a file ingestion skips on purpose (binary, empty, unsupported, a link
    /// outside the root) rather than one it failed to read.
    pub fn is_skip(&self) -> bool {
        matches!(
            self,
            IngestError::Binary { .. }
                | IngestError::Empty { .. }
                | IngestError::Unsupported { .. }
                | IngestError::OutsideRoot { .. }
        )
    }

    /// The file this problem is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            IngestError::Unreadable { path, .. }
            | IngestError::InvalidUtf8 { path, .. }
            | IngestError::Empty { path }
            | IngestError::TooLarge { path, .. }
            | IngestError::Binary { path }
            | IngestError::Unsupported { path }
            | IngestError::OutsideRoot { path }
            | IngestError::Malformed { path, .. } => path,
        }
    }
}

impl From<IngestError> for ragweave_core::Error {
    fn from(e: IngestError) -> Self {
        ragweave_core::Error::invalid(
            e.path().display().to_string(),
            ragweave_core::Report::of(&e).to_string(),
        )
    }
}
