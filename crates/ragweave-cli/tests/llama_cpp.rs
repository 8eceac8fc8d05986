//! `ragweave ask` with a configured GGUF generator on llama.cpp: the answer streams, and
//! think-before-retrieve runs end to end with the same model. The model is a tiny random
//! decoder the test writes (its words are nonsense; the wiring is what is checked).

use std::io::Read;
use std::path::Path;
use std::process::Stdio;

mod common;

use common::{command, ok};
use ragweave_testkit::gguf::DecoderSpec;

#[test]
fn ask_streams_a_gguf_answer_and_thinks_before_retrieving() {
    let dir = tempfile::tempdir().unwrap();
    DecoderSpec::tiny()
        .write(&dir.path().join("tiny.gguf"))
        .unwrap();
    let store = dir.path().join("store");
    let config = dir.path().join("pipeline.toml");
    std::fs::write(
        &config,
        r#"
generator = "local"

[sampling]      # greedy: the same answer every run
temperature = 0.0
max_tokens = 64

[generators.local]
kind = "llama_cpp"
model = "tiny.gguf"
context_length = 16384
parallel = 2

[[transforms]]
kind = "think"
generator = "local"
thoughts = 2
max_tokens = 12
seed = 1
"#,
    )
    .unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    ok(common::ragweave(&[
        "ingest",
        "docs",
        "--store",
        &s(&store),
        "--quiet",
    ]));
    let (store, config) = (s(&store), s(&config));
    let ask = |extra: &[&str]| {
        let mut args = vec![
            "ask",
            "how does the router choose experts?",
            "--store",
            &store,
        ];
        args.extend(["--config", &config, "--top-k", "2"]);
        args.extend(extra);
        command(&args)
    };

    // Streaming: the answer's first bytes reach stdout before the process ends.
    let mut child = ask(&[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 1];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    let mut out = child.wait_with_output().unwrap();
    // The first byte may begin a multi-byte character (a random model writes anything).
    out.stdout.insert(0, first[0]);
    let stdout = ok(out);
    assert!(stdout.contains("\n\nSources:\n  [1] docs/"), "{stdout}");

    let json = ok(ask(&["--json"]).output().unwrap());
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["generated"], true);
    assert!(!v["text"].as_str().unwrap().is_empty(), "{json}");
    assert_eq!(v["hits"].as_array().unwrap().len(), 2, "{json}");
    // The think stage ran with the GGUF model and left its two thoughts in the trace.
    let stages = v["trace"]["stages"].as_array().unwrap();
    let think = stages
        .iter()
        .find(|s| s["name"] == "transform:think")
        .expect("a think stage");
    assert_eq!(think["notes"].as_array().unwrap().len(), 2, "{think}");
    assert!(stages.iter().any(|s| s["name"] == "generate"), "{stages:?}");
}
