//! The BEIR datasets tests run on (`../shared/datasets` beside the checkout).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Judged relevance per query id: document id to grade.
pub type Qrels = HashMap<String, HashMap<String, f32>>;

/// The folder of BEIR dataset `name` (`corpus.jsonl`, `queries.jsonl`, `qrels/test.tsv`):
/// under `$RAGWEAVE_DATASETS`, else `../shared/datasets` beside the workspace.
///
/// Panics, naming the path and the variable, when the dataset is not there.
pub fn dataset(name: &str) -> PathBuf {
    let dir = std::env::var_os("RAGWEAVE_DATASETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets"))
        .join(name);
    assert!(
        dir.join("corpus.jsonl").exists(),
        "{name} not found at {} (set RAGWEAVE_DATASETS to the datasets folder)",
        dir.display()
    );
    dir
}

/// The test-split judgements in `dir/qrels/test.tsv`.
pub fn test_qrels(dir: &Path) -> Qrels {
    let path = dir.join("qrels/test.tsv");
    let tsv = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut qrels = Qrels::new();
    for line in tsv.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        qrels
            .entry(f[0].into())
            .or_default()
            .insert(f[1].into(), f[2].parse().expect("numeric grade"));
    }
    qrels
}

/// The queries of `dir/queries.jsonl` that have test judgements, as `(id, text)` in file order.
pub fn test_queries(dir: &Path) -> Vec<(String, String)> {
    let qrels = test_qrels(dir);
    let path = dir.join("queries.jsonl");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|line| {
            let q: serde_json::Value = serde_json::from_str(line).expect("a JSON query line");
            let id = q["_id"].as_str().expect("a query `_id`").to_string();
            let text = q["text"].as_str().expect("a query `text`").to_string();
            qrels.contains_key(&id).then_some((id, text))
        })
        .collect()
}
