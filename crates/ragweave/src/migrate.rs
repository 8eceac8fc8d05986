//! Copying an embedded store into a Qdrant collection, resumably (`ragweave migrate`).
//!
//! Here, in the facade, because it is the one crate that has both stores: plugins never
//! depend on each other.

use std::path::{Path, PathBuf};

use ragweave_core::{ChunkStore, Error, Result};
use ragweave_qdrant::{QdrantOptions, QdrantStore};
use ragweave_qdrant_edge::EdgeStore;
use serde::{Deserialize, Serialize};

/// How [`migrate`] copies.
#[derive(Debug, Clone)]
pub struct MigrateOptions {
    /// Points read and written per step (and per checkpoint).
    pub batch_size: usize,
    /// Where progress is recorded; default `ragweave-migrate-<collection>.json` in the
    /// store directory.
    pub checkpoint: Option<PathBuf>,
}

impl Default for MigrateOptions {
    fn default() -> Self {
        Self {
            batch_size: 256,
            checkpoint: None,
        }
    }
}

/// What a migration did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrateReport {
    /// Points written by this run.
    pub copied: usize,
    /// Points an earlier, interrupted run had copied (0 for a fresh run).
    pub resumed_after: usize,
    /// Points in the embedded store.
    pub source_count: usize,
    /// Points in the collection at the end (equal to `source_count`, or it is an error).
    pub target_count: usize,
}

/// Progress of an interrupted copy: where to go on from.
#[derive(Debug, Serialize, Deserialize)]
struct Checkpoint {
    url: String,
    collection: String,
    /// The next page's first point id; `None` once every page is written.
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
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| Error::StoreCorrupt {
                path: path.display().to_string(),
                reason: format!("not a migration checkpoint ({e}); delete it to start over"),
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

/// Copies every chunk of `from` (text, metadata, dense vector; BM25 weights recomputed
/// with the store's own BM25 length, so they are identical) into the collection `to`
/// names, creating it with the store's dense vector and BM25 settings.
///
/// Resumable: after each batch the next page's position is recorded in a checkpoint file,
/// so a run that is killed or loses the server goes on where it stopped when started
/// again; point ids are content hashes, so the batch in flight at the interruption is
/// written again without duplicating anything. A collection that already holds points is
/// refused unless a checkpoint says this store was being copied into it. At the end the
/// collection's point count must equal the store's; then the checkpoint is removed.
pub async fn migrate(
    from: &EdgeStore,
    to: QdrantOptions,
    options: MigrateOptions,
) -> Result<MigrateReport> {
    if options.batch_size == 0 {
        return Err(Error::config("batch_size", "must be at least 1"));
    }
    let mut to = to;
    to.dense = from.dense().cloned();
    to.bm25_avg_len = Some(from.bm25_avg_len());
    to.create_missing = true;
    let checkpoint_path = options.checkpoint.clone().unwrap_or_else(|| {
        from.path().join(format!(
            "ragweave-migrate-{}.json",
            sanitize(&to.collection)
        ))
    });
    let (url, collection) = (to.url.clone(), to.collection.clone());
    let target = QdrantStore::connect(to).await?;
    let earlier =
        read_checkpoint(&checkpoint_path)?.filter(|c| c.url == url && c.collection == collection);
    let mut state = match earlier {
        Some(c) => c,
        None => {
            let held = target.count().await?;
            if held > 0 {
                return Err(Error::config(
                    "to",
                    format!(
                        "collection `{collection}` at {url} already holds {held} points and no \
                         checkpoint at {} says this store was being copied into it; choose a \
                         new collection (or delete that one)",
                        checkpoint_path.display()
                    ),
                ));
            }
            let fresh = Checkpoint {
                url: url.clone(),
                collection: collection.clone(),
                next: None,
                copied: 0,
            };
            write_checkpoint(&checkpoint_path, &fresh)?;
            fresh
        }
    };
    let resumed_after = state.copied;
    let resuming_finished = resumed_after > 0 && state.next.is_none();
    let mut copied = 0;
    if !resuming_finished {
        loop {
            let page = from
                .export(state.next.as_deref(), options.batch_size)
                .await?;
            let n = page.chunks.len();
            target.upsert(page.chunks).await?;
            copied += n;
            state.copied += n;
            state.next = page.next;
            write_checkpoint(&checkpoint_path, &state)?;
            if state.next.is_none() {
                break;
            }
        }
    }
    let source_count = from.count().await?;
    let target_count = target.count().await?;
    if source_count != target_count {
        return Err(Error::component(
            "migrate",
            format!(
                "copy not verified: the store holds {source_count} points, collection \
                 `{collection}` at {url} holds {target_count} (was it written to during the \
                 copy?); the checkpoint {} is kept",
                checkpoint_path.display()
            ),
        ));
    }
    std::fs::remove_file(&checkpoint_path).map_err(|e| io(&checkpoint_path, e))?;
    Ok(MigrateReport {
        copied,
        resumed_after,
        source_count,
        target_count,
    })
}

/// A collection name as a file-name part.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
