//! Building pipelines from TOML and JSON, and the errors bad configs get.

use std::io::Write;

use ragweave_core::Error;
use ragweave_core::config::{PipelineConfig, Registry};

/// A fresh directory per test (tests run in parallel) holding a two-document corpus.
fn corpus_dir(test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ragweave-config-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut f = std::fs::File::create(dir.join("corpus.jsonl")).unwrap();
    writeln!(
        f,
        r#"{{"_id": "rust", "title": "Rust", "text": "Rust has no garbage collector."}}"#
    )
    .unwrap();
    writeln!(
        f,
        r#"{{"id": "go", "text": "Go has a garbage collector."}}"#
    )
    .unwrap();
    dir
}

const TOML: &str = r#"
[embedders.hash]
kind = "hashing"
dimension = 128

[experts.docs]
kind = "in_memory"
embedder = "hash"
corpus = "corpus.jsonl"

[arranger]
kind = "long_context_reorder"
max_passages = 4

[memory]
kind = "window"
max_tokens = 512

[timeouts]
retrieve = 2000
"#;

#[tokio::test]
async fn builds_and_runs_a_pipeline_from_toml() {
    let dir = corpus_dir("builds_and_runs_a_pipeline_from_toml");
    let config = PipelineConfig::from_toml_str(TOML).unwrap();
    let registry = Registry::with_builtins();
    config.validate(&registry).unwrap();
    let pipeline = config.build(&registry, &dir).await.unwrap();
    let answer = pipeline
        .ask("does rust have a garbage collector")
        .await
        .unwrap();
    assert_eq!(answer.hits[0].chunk.id, "rust");
    assert_eq!(pipeline.experts(), ["docs"]);
    // The same config as JSON builds the same pipeline.
    let json = serde_json::to_string(&config).unwrap();
    let again = PipelineConfig::from_json_str(&json).unwrap();
    assert_eq!(again, config);
}

#[tokio::test]
async fn errors_name_the_field_path() {
    let registry = Registry::with_builtins();
    let cases: &[(&str, &str)] = &[
        (
            "[experts.docs]\nkind = 'in_memory'\nembedder = 3\ncorpus = 'c'\n",
            "experts.docs.embedder",
        ),
        (
            "[experts.docs]\nkind = 'in_memory'\nembedder = 'e'\n",
            "experts.docs",
        ),
        (
            "[embedders.e]\nkind = 'hashing'\ndimension = 'big'\n",
            "embedders.e.dimension",
        ),
        (
            "[memory]\nkind = 'window'\nmax_tokens = 5\ncolour = 'red'\n",
            "memory",
        ),
        ("[fusion]\nk = 'sixty'\n", "fusion.k"),
        ("[timeouts]\nretrieve = -1\n", "timeouts.retrieve"),
        ("unknown_top_level = 1\n", "unknown_top_level"),
        ("[[transforms]]\nkind = 'think'\n", "transforms[0]"),
    ];
    for (text, path) in cases {
        let err = PipelineConfig::from_toml_str(text)
            .and_then(|c| c.validate(&registry))
            .unwrap_err();
        assert!(
            err.to_string().contains(path),
            "{text:?}: expected path {path}, got: {err}"
        );
    }
}

#[tokio::test]
async fn unknown_kind_lists_the_known_ones() {
    let registry = Registry::with_builtins();
    let config = PipelineConfig::from_toml_str("[experts.x]\nkind = 'elastic'\n").unwrap();
    match config.validate(&registry) {
        Err(Error::UnknownKind {
            path,
            category,
            kind,
            known,
        }) => {
            assert_eq!(
                (path.as_str(), category, kind.as_str()),
                ("experts.x.kind", "retriever", "elastic")
            );
            assert!(known.contains("in_memory"), "{known}");
        }
        other => panic!("expected UnknownKind, got {other:?}"),
    }
}

/// Builds `text` with the core registry, expecting an error.
async fn build_err(text: &str, dir: &std::path::Path) -> Error {
    let config = PipelineConfig::from_toml_str(text).unwrap();
    config
        .build(&Registry::with_builtins(), dir)
        .await
        .err()
        .unwrap()
}

#[tokio::test]
async fn build_errors_name_missing_references_and_files() {
    let dir = corpus_dir("build_errors_name_missing_references_and_files");
    let missing_embedder =
        "[experts.docs]\nkind = 'in_memory'\nembedder = 'nope'\ncorpus = 'corpus.jsonl'\n";
    let err = build_err(missing_embedder, &dir).await;
    assert!(
        err.to_string().contains("experts.docs.embedder") && err.to_string().contains("nope"),
        "{err}"
    );
    let missing_file = "[embedders.h]\nkind = 'hashing'\n[experts.docs]\nkind = 'in_memory'\nembedder = 'h'\ncorpus = 'absent.jsonl'\n";
    let err = build_err(missing_file, &dir).await;
    assert!(
        matches!(err, Error::Io { ref path, .. } if path.ends_with("absent.jsonl")),
        "{err}"
    );
    std::fs::write(
        dir.join("bad.jsonl"),
        "{\"_id\": \"a\", \"text\": \"ok\"}\nnot json\n",
    )
    .unwrap();
    let bad_line = "[embedders.h]\nkind = 'hashing'\n[experts.docs]\nkind = 'in_memory'\nembedder = 'h'\ncorpus = 'bad.jsonl'\n";
    let err = build_err(bad_line, &dir).await;
    assert!(
        err.to_string().contains("bad.jsonl:2"),
        "line number named: {err}"
    );
    let no_generator = "generator = 'llm'\n";
    let err = build_err(no_generator, &dir).await;
    assert!(err.to_string().contains("llm"), "{err}");
}

#[test]
fn schema_lists_every_registered_kind() {
    let schema = Registry::with_builtins().schema();
    let text = schema.to_string();
    for kind in [
        "hashing",
        "in_memory",
        "bm25",
        "pilot",
        "think",
        "rank_order",
        "long_context_reorder",
        "window",
    ] {
        assert!(
            text.contains(&format!("\"const\":\"{kind}\"")),
            "schema lacks {kind}"
        );
    }
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
}
