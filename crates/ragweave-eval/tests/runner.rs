//! The runner on real data: BM25 pipelines (ragweave-core's index) over SciFact and ArguAna.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ragweave_core::{Bm25Index, Pipeline, read_jsonl_corpus};
use ragweave_eval::{
    Dataset, EvalError, EvalOptions, Evaluation, Metric, Report, evaluate_pipeline,
};
use ragweave_testkit::datasets::dataset;

fn bm25_pipeline(dataset: &Dataset) -> Pipeline {
    let index = Bm25Index::default();
    index
        .insert(read_jsonl_corpus(&dataset.dir.join("corpus.jsonl"), None).unwrap())
        .unwrap();
    Pipeline::builder()
        .expert("bm25", Arc::new(index))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_changes_timing_not_results_and_every_query_is_counted() {
    let mut scifact = Dataset::load(dataset("scifact"), "test").unwrap();
    scifact.truncate(120);
    let pipeline = bm25_pipeline(&scifact);
    let seen = AtomicUsize::new(0);
    let one = evaluate_pipeline(
        "bm25",
        &pipeline,
        &scifact,
        &EvalOptions::default(),
        &|| {
            seen.fetch_add(1, Ordering::Relaxed);
        },
    )
    .await
    .unwrap();
    assert_eq!(seen.load(Ordering::Relaxed), 120);
    let options = EvalOptions {
        concurrency: 8,
        ..EvalOptions::default()
    };
    let eight = evaluate_pipeline("bm25", &pipeline, &scifact, &options, &|| {})
        .await
        .unwrap();
    assert_eq!(one.scores, eight.scores);
    assert_eq!(one.run, eight.run);
    assert_eq!(one.queries, 120);
    // BM25 without stemming on SciFact: well above chance, below the stemmed engines.
    let ndcg = one.mean(Metric::Ndcg(10)).unwrap();
    assert!((0.55..0.75).contains(&ndcg), "nDCG@10 {ndcg}");
    assert!(one.mean(Metric::Recall(100)).unwrap() > ndcg);
    let stage = &one.latency.stages["retrieve:bm25"];
    assert_eq!(stage.count, 120);
    assert!(stage.p50_ms > 0.0 && stage.p50_ms <= stage.p95_ms);
    assert!(one.latency.total.p50_ms >= stage.p50_ms);

    let mut report = Report::new(&scifact, EvalOptions::default().metrics);
    report.evaluations.push(one);
    report.evaluations.push(Evaluation {
        name: "bm25-again".into(),
        ..eight
    });
    report
        .add_oracle(&["bm25".into(), "bm25-again".into()])
        .unwrap();
    // The oracle of a pipeline and itself is the pipeline.
    assert!((report.oracles[0].mean["nDCG@10"] - ndcg).abs() < 1e-12);
    assert!(report.add_oracle(&["nope".into()]).is_err());
    let md = report.to_markdown();
    assert!(md.contains("| bm25 | "), "{md}");
    assert!(
        md.contains("| per-query best of bm25, bm25-again |"),
        "{md}"
    );
    let dir = tempfile::tempdir().unwrap();
    report.write(dir.path()).unwrap();
    let svg = std::fs::read_to_string(dir.path().join("report.svg")).unwrap();
    assert!(svg.contains("bm25-again"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(
        json["evaluations"][0]["scores"]["per_query"]
            .as_object()
            .unwrap()
            .len(),
        120
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arguana_self_hits_are_dropped_when_asked() {
    let mut arguana = Dataset::load(dataset("arguana"), "test").unwrap();
    arguana.truncate(60);
    let pipeline = bm25_pipeline(&arguana);
    let metrics = vec![Metric::Ndcg(10), Metric::Recall(100)];
    let keep = EvalOptions {
        metrics: metrics.clone(),
        concurrency: 4,
        ..EvalOptions::default()
    };
    let drop = EvalOptions {
        drop_self_hits: true,
        ..keep.clone()
    };
    let kept = evaluate_pipeline("bm25", &pipeline, &arguana, &keep, &|| {})
        .await
        .unwrap();
    let dropped = evaluate_pipeline("bm25", &pipeline, &arguana, &drop, &|| {})
        .await
        .unwrap();
    // An ArguAna query is itself a corpus argument: BM25 finds it nearly every time.
    assert!(
        dropped.self_hits_dropped > 50,
        "{}",
        dropped.self_hits_dropped
    );
    assert_eq!(kept.self_hits_dropped, 0);
    for q in &arguana.queries {
        assert!(!dropped.run.ranked(&q.id).contains(&q.id.as_str()));
        assert_eq!(dropped.run.ranked(&q.id).len(), 100, "still 100 documents");
    }
    let (k, d) = (
        kept.mean(Metric::Ndcg(10)).unwrap(),
        dropped.mean(Metric::Ndcg(10)).unwrap(),
    );
    assert!(d > k, "dropping self-hits raises nDCG@10: {k} -> {d}");
}

#[tokio::test]
async fn bad_options_are_typed_errors() {
    let mut scifact = Dataset::load(dataset("scifact"), "test").unwrap();
    scifact.truncate(2);
    let pipeline = Pipeline::builder()
        .expert("empty", Arc::new(Bm25Index::default()))
        .build()
        .unwrap();
    let bad = [
        (
            EvalOptions {
                metrics: Vec::new(),
                ..EvalOptions::default()
            },
            "metrics",
        ),
        (
            EvalOptions {
                concurrency: 0,
                ..EvalOptions::default()
            },
            "concurrency",
        ),
    ];
    for (options, field) in bad {
        match evaluate_pipeline("p", &pipeline, &scifact, &options, &|| {}).await {
            Err(EvalError::Option { option, .. }) => assert_eq!(option, field),
            other => panic!("{field}: expected an option error, got {:?}", other.err()),
        }
    }
}
