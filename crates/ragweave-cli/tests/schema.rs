//! `ragweave schema` prints a schema that the example config validates against.

mod common;

use common::ragweave;

fn schema() -> serde_json::Value {
    let out = ragweave(&["schema"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("schema is JSON")
}

fn example() -> serde_json::Value {
    let root = common::repo();
    let text = std::fs::read_to_string(root.join("docs/pipeline.toml")).unwrap();
    toml::from_str(&text).unwrap()
}

#[test]
fn example_config_validates_against_the_printed_schema() {
    let validator = jsonschema::validator_for(&schema()).expect("schema compiles");
    let config = example();
    let errors: Vec<String> = validator
        .iter_errors(&config)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn schema_rejects_what_the_loader_rejects() {
    let validator = jsonschema::validator_for(&schema()).unwrap();
    let mut bad_kind = example();
    bad_kind["experts"]["notes"]["kind"] = "elastic".into();
    assert!(!validator.is_valid(&bad_kind), "unknown kind");
    let mut bad_type = example();
    bad_type["embedders"]["hash"]["dimension"] = "big".into();
    assert!(!validator.is_valid(&bad_type), "wrong field type");
    let mut extra = example();
    extra["memory"]["colour"] = "red".into();
    assert!(!validator.is_valid(&extra), "unknown field");
    let mut missing = example();
    missing["experts"]["notes"]
        .as_object_mut()
        .unwrap()
        .remove("corpus");
    assert!(!validator.is_valid(&missing), "missing required field");
}

#[test]
fn validate_accepts_the_example_and_names_the_bad_field() {
    let ok = ragweave(&["validate", "docs/pipeline.toml"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let dir = std::env::temp_dir().join(format!("ragweave-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[embedders.e]\nkind = 'hashing'\ndimension = 'big'\n").unwrap();
    let out = ragweave(&["validate", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("embedders.e.dimension"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn markdown_reference_lists_this_builds_kinds_and_the_template_config_validates() {
    let out = ragweave(&["schema", "--markdown"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("# Config reference"), "{text}");
    for kind in [
        "qdrant_edge",
        "candle",
        "llama_cpp",
        "openai",
        "think",
        "pilot",
    ] {
        assert!(text.contains(&format!("### `kind = \"{kind}\"`")), "{kind}");
    }
    // The rag-service template's config is one a user edits first: it must be valid.
    let template = common::repo().join("templates/rag-service/pipeline.toml");
    let out = ragweave(&["validate", template.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
