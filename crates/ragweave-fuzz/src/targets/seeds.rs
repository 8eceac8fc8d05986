//! Seed inputs from the repository and the shared datasets.

use std::path::{Path, PathBuf};

/// The repository root.
pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The files under `dir` (relative to the repository) whose names end with `ext`, at most
/// `limit` of them, in name order.
pub(crate) fn files(dir: &str, ext: &str, limit: usize) -> Vec<Vec<u8>> {
    let mut paths = Vec::new();
    let mut dirs = vec![repo().join(dir)];
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.to_string_lossy().ends_with(ext) {
                paths.push(p);
            }
        }
    }
    paths.sort();
    paths
        .into_iter()
        .take(limit)
        .filter_map(|p| std::fs::read(p).ok())
        .collect()
}

/// The first `n` lines of a shared dataset's file.
pub(crate) fn dataset_lines(dataset: &str, file: &str, n: usize) -> String {
    let path = ragweave_testkit::datasets::dataset(dataset).join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let mut out: String = text.lines().take(n).collect::<Vec<_>>().join("\n");
    out.push('\n');
    out
}
