//! Copying one store into another, resumably: what `ragweave migrate` does between any two
//! stores of a config (the embedded store into a Qdrant cluster, or back).

use std::path::{Path, PathBuf};

use ragweave_core::{ChunkStore, Error, Result};
use serde::{Deserialize, Serialize};

/// How [`migrate`] copies.
#[derive(Debug, Clone)]
pub struct MigrateOptions {
    /// Chunks read and written per step (and per checkpoint).
    pub batch_size: usize,
    /// Where progress is recorded, so a killed copy resumes.
    pub checkpoint: PathBuf,
}

impl MigrateOptions {
    /// Batches of 256, progress recorded at `checkpoint`.
    pub fn new(checkpoint: impl Into<PathBuf>) -> Self {
        Self {
            batch_size: 256,
            checkpoint: checkpoint.into(),
        }
    }
}

/// What a migration did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrateReport {
    /// Chunks written by this run.
    pub copied: usize,
    /// Chunks an earlier, interrupted run had copied (0 for a fresh run).
    pub resumed_after: usize,
    /// Chunks in the source.
    pub source_count: usize,
    /// Chunks in the target at the end (equal to `source_count`, or it is an error).
    pub target_count: usize,
}

/// Progress of an interrupted copy: where to go on from.
#[derive(Debug, Serialize, Deserialize)]
struct Checkpoint {
    /// The target's [`ChunkStore::location`], so a checkpoint never resumes into another.
    target: String,
    /// The next page's start; `None` once every page is written.
    next: Option<String>,
    copied: usize,
}

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source,
    }
}

fn read_checkpoint(path: &Path) -> Result<Option<Checkpoint>> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
            Error::config(
                "checkpoint",
                format!(
                    "{} is not a migration checkpoint ({e}); delete it to start over",
                    path.display()
                ),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path, e)),
    }
}

fn write_checkpoint(path: &Path, c: &Checkpoint) -> Result<()> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(c).expect("serializes"))
        .map_err(|e| io(&tmp, e))?;
    // Rename, so a crash leaves the old checkpoint or the new one, never half.
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))
}

/// Copies every chunk of `from` (text, metadata, dense vector) into `to`, which weighs BM25
/// as it writes. A source with dense vectors needs a target holding the same model's (open
/// it with the source's embedder), else nothing is copied.
///
/// Resumable: after each batch the next page's position is recorded at
/// [`MigrateOptions::checkpoint`], so a run that is killed or loses the target goes on where
/// it stopped when started again; chunk ids are content hashes, so the batch in flight at
/// the interruption is written again without duplicating anything. A target that already
/// holds chunks is refused unless the checkpoint says this copy was going into it. At the
/// end the target's count must equal the source's; then the checkpoint is removed.
pub async fn migrate(
    from: &dyn ChunkStore,
    to: &dyn ChunkStore,
    options: &MigrateOptions,
) -> Result<MigrateReport> {
    if options.batch_size == 0 {
        return Err(Error::config("batch_size", "must be at least 1"));
    }
    if from.dense().is_some() && from.dense() != to.dense() {
        return Err(Error::config(
            "to",
            format!(
                "`{}` holds dense vectors {:?}, `{}` {:?}: open the target with the source's \
                 embedder",
                from.location(),
                from.dense(),
                to.location(),
                to.dense()
            ),
        ));
    }
    let path = &options.checkpoint;
    let target = to.location();
    let earlier = read_checkpoint(path)?.filter(|c| c.target == target);
    let mut state = match earlier {
        Some(c) => c,
        None => {
            let held = to.count().await?;
            if held > 0 {
                return Err(Error::config(
                    "to",
                    format!(
                        "`{target}` already holds {held} chunks and no checkpoint at {} says \
                         this copy was going into it; choose a new target (or empty that one)",
                        path.display()
                    ),
                ));
            }
            let fresh = Checkpoint {
                target: target.clone(),
                next: None,
                copied: 0,
            };
            write_checkpoint(path, &fresh)?;
            fresh
        }
    };
    let resumed_after = state.copied;
    let mut copied = 0;
    if !(resumed_after > 0 && state.next.is_none()) {
        loop {
            let page = from
                .export(state.next.as_deref(), options.batch_size)
                .await?;
            let n = page.chunks.len();
            to.upsert(page.chunks).await?;
            copied += n;
            state.copied += n;
            state.next = page.next;
            write_checkpoint(path, &state)?;
            if state.next.is_none() {
                break;
            }
        }
    }
    let source_count = from.count().await?;
    let target_count = to.count().await?;
    if source_count != target_count {
        return Err(Error::component(
            "migrate",
            format!(
                "copy not verified: `{}` holds {source_count} chunks, `{target}` holds \
                 {target_count} (was one written to during the copy?); the checkpoint {} is kept",
                from.location(),
                path.display()
            ),
        ));
    }
    std::fs::remove_file(path).map_err(|e| io(path, e))?;
    Ok(MigrateReport {
        copied,
        resumed_after,
        source_count,
        target_count,
    })
}
