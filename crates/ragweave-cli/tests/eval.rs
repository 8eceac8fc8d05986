//! `ragweave fit-pilots` and `ragweave eval` on real SciFact: BM25, a dense expert, a pilot
//! router fitted on SciFact's training labels, and think-before-retrieve with a tiny GGUF
//! decoder on llama.cpp (the test writes it; its thoughts are nonsense, the wiring is real).

use std::path::Path;

mod common;

use common::{ok, ragweave};
use ragweave_testkit::datasets::dataset;
use ragweave_testkit::gguf::DecoderSpec;

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// BM25 and a dense expert with the hashing embedder, both over `corpus`, in memory.
fn bm25_and_hashing_dense(corpus: &Path) -> String {
    format!(
        r#"
[embedders.hash]
kind = "hashing"
dimension = 256

[experts.bm25]
kind = "bm25"
corpus = "{0}"

[experts.dense]
kind = "in_memory"
embedder = "hash"
corpus = "{0}"
"#,
        corpus.display()
    )
}

#[test]
fn eval_compares_pipelines_and_fit_pilots_trains_a_router() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    DecoderSpec::tiny().write(&dir.join("tiny.gguf")).unwrap();
    let scifact = dataset("scifact");
    let corpus = scifact.join("corpus.jsonl");
    let experts = bm25_and_hashing_dense(&corpus);
    let bm25 = write(
        dir,
        "bm25.toml",
        &format!(
            "[experts.bm25]\nkind = \"bm25\"\ncorpus = \"{}\"\n",
            corpus.display()
        ),
    );
    let router = write(
        dir,
        "router.toml",
        &format!(
            "{experts}\n[router]\nkind = \"pilot\"\nembedder = \"hash\"\npilots = \"pilots.json\"\n"
        ),
    );
    let think = write(
        dir,
        "think.toml",
        &format!(
            r#"
[experts.bm25]
kind = "bm25"
corpus = "{}"

[generators.tiny]
kind = "llama_cpp"
model = "tiny.gguf"
context_length = 2048

[[transforms]]
kind = "think"
generator = "tiny"
thoughts = 1
max_tokens = 8
temperature = 0.0
"#,
            corpus.display()
        ),
    );
    let data = scifact.to_str().unwrap();

    // Pilots from the 505 training claims with evidence; test claims are never seen.
    let fitted = ok(ragweave(&[
        "fit-pilots",
        "--config",
        &router,
        "--dataset",
        data,
        "--evidence",
        "--split",
        "test",
    ]));
    let report: serde_json::Value = serde_json::from_str(&fitted).unwrap();
    let assigned = &report["assigned"];
    let routed = assigned["bm25"].as_u64().unwrap() + assigned["dense"].as_u64().unwrap();
    assert!(routed > 100, "{report}");
    assert!(
        report["oracle_ndcg"].as_f64().unwrap() >= report["mean_ndcg"]["bm25"].as_f64().unwrap()
    );
    assert!(dir.join("pilots.json").exists());

    let out = dir.join("report");
    let table = ok(ragweave(&[
        "eval",
        "--dataset",
        data,
        "--config",
        &bm25,
        "--config",
        &router,
        "--config",
        &think,
        "--limit",
        "30",
        "--concurrency",
        "3",
        "--metric",
        "ndcg@10",
        "--metric",
        "recall@100",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]));
    assert!(
        table.contains("| pipeline | nDCG@10 | Recall@100 |"),
        "{table}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let evals = json["evaluations"].as_array().unwrap();
    let names: Vec<&str> = evals.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["bm25", "router", "think"]);
    for e in evals {
        assert_eq!(e["queries"], 30);
        let ndcg = e["scores"]["mean"]["nDCG@10"].as_f64().unwrap();
        assert!(ndcg > 0.3, "{}: nDCG@10 {ndcg}", e["name"]);
    }
    let stages = |i: usize| evals[i]["latency"]["stages"].as_object().unwrap().clone();
    assert!(stages(0).contains_key("retrieve:bm25"));
    assert!(stages(1).contains_key("route"), "{:?}", stages(1).keys());
    assert!(
        stages(2).contains_key("transform:think"),
        "{:?}",
        stages(2).keys()
    );
    let svg = std::fs::read_to_string(out.join("report.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("think"),
        "{svg:.200}"
    );
    let run = std::fs::read_to_string(out.join("bm25.run")).unwrap();
    assert_eq!(
        run.lines().next().unwrap().split(' ').count(),
        6,
        "{run:.200}"
    );
}

#[test]
fn bad_eval_input_is_an_error_naming_what_is_wrong() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write(
        tmp.path(),
        "p.toml",
        "[experts.bm25]\nkind = \"bm25\"\ncorpus = \"c.jsonl\"\n",
    );
    let err = |args: &[&str]| {
        let out = ragweave(args);
        assert!(!out.status.success());
        String::from_utf8(out.stderr).unwrap()
    };
    let missing = err(&[
        "eval",
        "--dataset",
        "/nonexistent/beir",
        "--config",
        &config,
    ]);
    assert!(
        missing.contains("missing qrels: /nonexistent/beir/qrels/test.tsv"),
        "{missing}"
    );
    let data = dataset("scifact");
    let metric = err(&[
        "eval",
        "--dataset",
        data.to_str().unwrap(),
        "--config",
        &config,
        "--metric",
        "bleu@4",
    ]);
    assert!(metric.contains("unknown metric `bleu`"), "{metric}");
}

#[test]
fn fit_fusion_fits_weights_that_the_pipeline_ranks_by() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let scifact = dataset("scifact");
    let data = scifact.to_str().unwrap();
    let fixed = write(
        dir,
        "fixed.toml",
        &format!(
            "candidates = 50\n{}\n[fusion]\nmethod = \"score\"\nby = \"document\"\n\
             score_union = true\n",
            bm25_and_hashing_dense(&scifact.join("corpus.jsonl"))
        ),
    );
    let section = dir.join("adaptive.toml");
    let train = ["--dataset", data, "--evidence", "--split", "test"];
    let mut args = vec!["fit-fusion", "--config", &fixed];
    args.extend(train);
    args.extend(["--out", section.to_str().unwrap()]);
    let report: serde_json::Value = serde_json::from_str(&ok(ragweave(&args))).unwrap();
    assert_eq!(report["queries"], 505, "{report}");
    let f = |key: &str| report[key].as_f64().unwrap();
    // Coordinate ascent starts from the fixed weights and only ever moves uphill.
    assert!(f("train_ndcg") >= f("fixed_ndcg"), "{report}");
    assert!(f("oracle_ndcg") >= f("train_ndcg"), "{report}");
    assert!(
        report["alone"]
            .as_object()
            .unwrap()
            .contains_key("dense.gap"),
        "{report}"
    );
    let section = std::fs::read_to_string(&section).unwrap();
    assert!(section.contains("[fusion.adaptive"), "{section}");
    let adapted = write(
        dir,
        "adapted.toml",
        &format!("{}\n{section}", std::fs::read_to_string(&fixed).unwrap()),
    );
    ok(ragweave(&["validate", &adapted]));

    // The pipeline, run with the section, ranks the training queries as the fit scored them.
    let out = dir.join("report");
    let mut args = vec!["eval", "--config", &fixed, "--config", &adapted];
    args.extend(train);
    args.extend([
        "--metric",
        "ndcg@10",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    ok(ragweave(&args));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let mean = |i: usize| {
        json["evaluations"][i]["scores"]["mean"]["nDCG@10"]
            .as_f64()
            .unwrap()
    };
    assert!(
        (mean(0) - f("fixed_ndcg")).abs() < 2e-3,
        "{} against {report}",
        mean(0)
    );
    assert!(
        (mean(1) - f("train_ndcg")).abs() < 2e-3,
        "{} against {report}",
        mean(1)
    );
    let stages = json["evaluations"][1]["latency"]["stages"]
        .as_object()
        .unwrap();
    assert!(stages.contains_key("adapt"), "{:?}", stages.keys());
}
