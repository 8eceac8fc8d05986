//! Running the `ragweave` binary the way a user does, from the repository root.

#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (tests run `ragweave` there, so `docs` is the project's docs).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `ragweave ARGS` in the repository root, not yet started.
pub fn command(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ragweave"));
    c.args(args).current_dir(repo());
    c
}

/// Runs `ragweave ARGS` to completion.
pub fn ragweave(args: &[&str]) -> Output {
    command(args).output().expect("ragweave runs")
}

/// The standard output of a run that must have succeeded (else both outputs in the panic).
pub fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// What a store holds, to compare a store whose writer was killed with one that was not.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    /// Chunks stored.
    pub count: usize,
    /// Their ids, sorted.
    pub ids: Vec<String>,
    /// The top 5 BM25 hits (chunk ids) of three fixed queries.
    pub tops: Vec<Vec<String>>,
}

impl Snapshot {
    /// Opens the Qdrant Edge store at `path` (no process may hold it) and reads it.
    pub async fn of(path: &Path) -> Snapshot {
        use ragweave::qdrant_edge::{EdgeStore, EdgeStoreOptions, SearchMode};
        use ragweave::{ChunkStore, Query, Retriever};
        let store = EdgeStore::open(path, EdgeStoreOptions::default()).unwrap();
        let count = store.count().await.unwrap();
        let mut ids: Vec<String> = store
            .chunk_ids()
            .await
            .unwrap()
            .into_iter()
            .map(|(c, _)| c)
            .collect();
        let unique: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "a chunk id is stored twice");
        ids.sort();
        let r = store.searcher(SearchMode::Sparse);
        let mut tops = Vec::new();
        for q in [
            "vitamin D bone density",
            "zinc immunity",
            "tumor suppressor p53",
        ] {
            let hits = r.retrieve(&Query::new(q).top_k(5)).await.unwrap();
            tops.push(hits.into_iter().map(|h| h.chunk.id).collect());
        }
        Snapshot { count, ids, tops }
    }
}

/// `n` pseudo-random delays in `[from, to)`, from `$RAGWEAVE_KILL_SEED` or the clock; the seed
/// is printed so a failing run can be repeated.
pub fn kill_delays(
    n: usize,
    from: std::time::Duration,
    to: std::time::Duration,
) -> Vec<std::time::Duration> {
    let mut seed: u64 = std::env::var("RAGWEAVE_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    println!("kill points from RAGWEAVE_KILL_SEED={seed}");
    seed |= 1;
    (0..n)
        .map(|_| {
            // xorshift64*: enough to spread kill points, no dependency.
            seed ^= seed >> 12;
            seed ^= seed << 25;
            seed ^= seed >> 27;
            let unit =
                (seed.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64;
            from + (to - from).mul_f64(unit)
        })
        .collect()
}
