//! The BEIR loader on the real datasets and on broken copies of them.

use std::path::Path;

use ragweave_eval::{Dataset, EvalError};
use ragweave_testkit::datasets::dataset;

#[test]
fn real_datasets_load_with_their_known_defects_reported() {
    let scifact = Dataset::load(dataset("scifact"), "test").unwrap();
    assert_eq!((scifact.queries.len(), scifact.documents), (300, 5183));
    assert!(scifact.warnings.is_empty(), "{:?}", scifact.warnings);

    // ArguAna's qrels name 5 arguments its corpus lacks (BEIR's own copy has the same).
    let arguana = Dataset::load(dataset("arguana"), "test").unwrap();
    assert_eq!(arguana.queries.len(), 1406);
    assert_eq!(arguana.unknown_documents, 5);
    assert!(
        arguana.warnings[0].contains("5 judgements"),
        "{:?}",
        arguana.warnings
    );

    // TREC DL 2019's graded judgements (this subset keeps grades 1..=3); 43 queries judged.
    let dl = Dataset::load(dataset("msmarco-trecdl19-subset5k"), "test").unwrap();
    assert_eq!(dl.queries.len(), 43);
    let grades: std::collections::BTreeSet<i32> = dl
        .qrels
        .iter()
        .flat_map(|(_, d)| d.values().map(|g| *g as i32))
        .collect();
    assert_eq!(grades.into_iter().collect::<Vec<_>>(), [1, 2, 3]);
}

#[test]
fn scifact_training_labels_come_from_evidence_and_never_include_test_queries() {
    let dir = dataset("scifact");
    let train = Dataset::load_evidence(&dir, "test").unwrap();
    let test = Dataset::load(&dir, "test").unwrap();
    assert_eq!(train.queries.len(), 505);
    assert!(
        train
            .queries
            .iter()
            .all(|q| test.qrels.get(&q.id).is_none())
    );
    assert_eq!(train.split, "metadata");
}

/// A small valid dataset to break.
fn write_dataset(dir: &Path) {
    std::fs::create_dir_all(dir.join("qrels")).unwrap();
    std::fs::write(
        dir.join("corpus.jsonl"),
        "{\"_id\": \"d1\", \"title\": \"\", \"text\": \"one\"}\n{\"_id\": 2, \"text\": \"two\"}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("queries.jsonl"),
        "{\"_id\": \"q1\", \"text\": \"first\"}\n{\"_id\": \"q2\", \"text\": \"second\"}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("qrels/test.tsv"),
        "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\t2\t2\n",
    )
    .unwrap();
}

fn malformed(err: EvalError) -> (String, usize, String) {
    match err {
        EvalError::Malformed { path, line, reason } => {
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            (file, line, reason)
        }
        other => panic!("expected a malformed-line error, got {other}"),
    }
}

#[test]
fn broken_files_are_typed_errors_naming_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tiny");
    write_dataset(&dir);
    let ok = Dataset::load(&dir, "test").unwrap();
    assert_eq!((ok.queries.len(), ok.documents), (2, 2));

    match Dataset::load(&dir, "dev").unwrap_err() {
        EvalError::MissingFile { what, path } => {
            assert_eq!(what, "qrels");
            assert!(path.ends_with("qrels/dev.tsv"));
        }
        other => panic!("{other}"),
    }

    std::fs::write(dir.join("qrels/test.tsv"), "q1\td1\t1\nq2\t2\thigh\n").unwrap();
    let (file, line, reason) = malformed(Dataset::load(&dir, "test").unwrap_err());
    assert_eq!((file.as_str(), line), ("test.tsv", 2));
    assert!(reason.contains("`high` is not an integer"), "{reason}");

    std::fs::write(dir.join("qrels/test.tsv"), "q1\td1\n").unwrap();
    let (_, line, reason) = malformed(Dataset::load(&dir, "test").unwrap_err());
    assert_eq!(line, 1);
    assert!(reason.contains("2 fields"), "{reason}");

    std::fs::write(dir.join("qrels/test.tsv"), "q1\td1\t1\nq1\td1\t0\n").unwrap();
    let (_, line, reason) = malformed(Dataset::load(&dir, "test").unwrap_err());
    assert_eq!(line, 2);
    assert!(reason.contains("twice"), "{reason}");

    write_dataset(&dir);
    std::fs::write(
        dir.join("queries.jsonl"),
        "{\"_id\": \"q1\", \"text\": \"first\"}\n\n{\"_id\": \"q2\", \"text\": \"sec\n",
    )
    .unwrap();
    let (file, line, reason) = malformed(Dataset::load(&dir, "test").unwrap_err());
    assert_eq!((file.as_str(), line), ("queries.jsonl", 3));
    assert!(reason.contains("invalid JSON"), "{reason}");

    std::fs::write(dir.join("queries.jsonl"), "{\"text\": \"no id\"}\n").unwrap();
    let (_, line, reason) = malformed(Dataset::load(&dir, "test").unwrap_err());
    assert_eq!(line, 1);
    assert!(reason.contains("no `_id`"), "{reason}");

    write_dataset(&dir);
    std::fs::write(
        dir.join("corpus.jsonl"),
        "{\"_id\": \"d1\", \"text\": \"a\"}\n{\"_id\": \"d1\", \"text\": \"b\"}\n",
    )
    .unwrap();
    let (file, line, reason) = malformed(Dataset::load(&dir, "test").unwrap_err());
    assert_eq!((file.as_str(), line), ("corpus.jsonl", 2));
    assert!(reason.contains("duplicate document id `d1`"), "{reason}");

    std::fs::write(dir.join("corpus.jsonl"), "\n").unwrap();
    assert!(matches!(
        Dataset::load(&dir, "test").unwrap_err(),
        EvalError::Empty { .. }
    ));
    std::fs::remove_file(dir.join("corpus.jsonl")).unwrap();
    match Dataset::load(&dir, "test").unwrap_err() {
        EvalError::MissingFile { what, .. } => assert_eq!(what, "corpus"),
        other => panic!("{other}"),
    }
}

#[test]
fn judgements_of_unknown_queries_and_documents_are_counted_not_fatal() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tiny");
    write_dataset(&dir);
    std::fs::write(
        dir.join("qrels/test.tsv"),
        "q1\td1\t1\nq1\tghost\t1\nq9\td1\t1\n",
    )
    .unwrap();
    let d = Dataset::load(&dir, "test").unwrap();
    assert_eq!((d.unknown_documents, d.unknown_queries), (1, 1));
    assert_eq!(d.queries.len(), 1);
    assert_eq!(d.warnings.len(), 2, "{:?}", d.warnings);
    assert!(d.warnings[1].contains("q9"), "{:?}", d.warnings);

    // Judgements only for queries without text: nothing to evaluate.
    std::fs::write(dir.join("qrels/test.tsv"), "q9\td1\t1\n").unwrap();
    match Dataset::load(&dir, "test").unwrap_err() {
        EvalError::Empty { what } => assert!(what.contains("split `test`"), "{what}"),
        other => panic!("{other}"),
    }
}
