//! Copying an embedded store into a Qdrant collection, resumably (`ragweave migrate` with a
//! directory and a URL): [`ragweave_ingest::migrate`] with the collection made to match.
//!
//! Here, in the facade, because it is the one crate that has both stores: plugins never
//! depend on each other.

use ragweave_core::{ChunkStore, Result};
use ragweave_ingest::{MigrateOptions, MigrateReport};
use ragweave_qdrant::{QdrantOptions, QdrantStore};
use ragweave_qdrant_edge::EdgeStore;

/// Copies `from` into `collection` (options `to`), creating the collection with the
/// store's dense vector and BM25 length so BM25 weights come out identical; progress is kept
/// at `ragweave-migrate-<collection>.json` in the store's directory unless `checkpoint` says
/// where. See [`ragweave_ingest::migrate`] for what is checked and how it resumes.
pub async fn migrate(
    from: &EdgeStore,
    collection: &str,
    to: QdrantOptions,
    batch_size: usize,
    checkpoint: Option<std::path::PathBuf>,
) -> Result<MigrateReport> {
    let mut to = to;
    to.bm25_avg_len = Some(from.bm25_avg_len());
    to.create_missing = true;
    to.dense = from.dense().cloned();
    let target = QdrantStore::connect(collection, to).await?;
    let checkpoint = checkpoint.unwrap_or_else(|| {
        from.path()
            .join(format!("ragweave-migrate-{}.json", sanitize(collection)))
    });
    let options = MigrateOptions {
        batch_size,
        checkpoint,
    };
    ragweave_ingest::migrate(from, &target, &options).await
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
