//! ragweave-eval's metrics against pytrec_eval (trec_eval's own C code) on the same run files:
//! BM25 runs over real BEIR datasets (binary and graded judgements), and the same runs with
//! scores coarsened so that ties are common, which exercises trec_eval's tie order.
//!
//! Needs pytrec_eval: `scripts/fetch-pytrec-eval.sh` (CI runs it).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use ragweave_core::{Bm25Index, Query, Retriever, read_jsonl_corpus};
use ragweave_eval::{Dataset, Metric, Run, evaluate};
use ragweave_testkit::datasets::dataset;

const METRICS: [Metric; 6] = [
    Metric::Ndcg(10),
    Metric::Ndcg(100),
    Metric::Recall(100),
    Metric::Map(10),
    Metric::Precision(10),
    Metric::Mrr(10),
];

fn pylib() -> PathBuf {
    std::env::var_os("RAGWEAVE_PYLIB")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").expect("HOME")).join(".cache/ragweave/pylib")
        })
}

fn pytrec_eval(qrels: &Path, run: &Path, run10: &Path) -> BTreeMap<String, BTreeMap<String, f64>> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/pytrec_eval_scores.py");
    let out = Command::new("python3")
        .arg(script)
        .args([qrels, run, run10])
        .env("PYTHONPATH", pylib())
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "pytrec_eval failed (install it with scripts/fetch-pytrec-eval.sh): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("pytrec_eval prints JSON")
}

/// A BM25 run of the dataset's queries, and how many documents tie with the one above.
async fn bm25_run(dataset: &Dataset, coarse: bool) -> (Run, usize) {
    let chunks = read_jsonl_corpus(&dataset.dir.join("corpus.jsonl"), None).unwrap();
    let index = Bm25Index::default();
    index.insert(chunks).unwrap();
    let mut run = Run::default();
    let mut ties = 0;
    for q in &dataset.queries {
        let hits = index
            .retrieve(&Query::new(q.text.as_str()).top_k(100))
            .await
            .unwrap();
        let mut above = f64::NAN;
        for h in hits {
            // Coarse scores tie often; trec_eval then orders by document id, descending.
            let score = if coarse {
                (f64::from(h.score) * 2.0).floor()
            } else {
                f64::from(h.score)
            };
            ties += usize::from(score == above);
            above = score;
            run.insert(&q.id, &h.chunk.document_id, score);
        }
    }
    (run, ties)
}

fn cut_at_10(run: &Run) -> Run {
    let mut cut = Run::default();
    for q in run.queries() {
        cut.insert_ranking(q, run.ranked(q).into_iter().take(10));
    }
    cut
}

async fn check(name: &str, coarse: bool) {
    let dataset = Dataset::load(dataset(name), "test").unwrap();
    let (run, ties) = bm25_run(&dataset, coarse).await;
    if coarse {
        assert!(ties > 1000, "coarse scores should tie often, tied {ties}");
    }
    let dir = tempfile::tempdir().unwrap();
    let (qrels_path, run_path, run10_path) = (
        dir.path().join("qrels"),
        dir.path().join("run"),
        dir.path().join("run10"),
    );
    std::fs::write(&qrels_path, dataset.qrels.to_trec()).unwrap();
    std::fs::write(&run_path, run.to_trec("bm25")).unwrap();
    std::fs::write(&run10_path, cut_at_10(&run).to_trec("bm25")).unwrap();
    let theirs = pytrec_eval(&qrels_path, &run_path, &run10_path);
    let ours = evaluate(&dataset.qrels, &run, &METRICS);
    // pytrec_eval scores the queries the run has; every query here retrieved something.
    assert_eq!(
        theirs.len(),
        dataset.queries.len(),
        "{name}: queries scored"
    );
    let mut worst = 0f64;
    for (q, row) in &theirs {
        for (metric, value) in row {
            let mine = ours.per_query[q][metric];
            worst = worst.max((mine - value).abs());
            assert!(
                (mine - value).abs() <= 1e-6,
                "{name} (coarse {coarse}) query {q} {metric}: ours {mine}, pytrec_eval {value}"
            );
        }
    }
    eprintln!(
        "{name} (coarse scores {coarse}): {} queries x {} metrics agree with pytrec_eval; \
         largest difference {worst:.1e} ({ties} documents tie with the one above)",
        theirs.len(),
        METRICS.len()
    );
}

#[tokio::test]
async fn scifact_bm25_run_agrees_with_pytrec_eval() {
    check("scifact", false).await;
}

#[tokio::test]
async fn graded_msmarco_run_with_tied_scores_agrees_with_pytrec_eval() {
    check("msmarco-trecdl19-subset5k", true).await;
    check("msmarco-trecdl19-subset5k", false).await;
}
