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

/// Kinds whose options are a shared struct flattened in (`think`: [`ThinkOptions`], `store`:
/// [`StoreSearch`], `pilot`, `window`, `bm25`, the arrangers' budget) keep what a plain struct
/// gives: an unknown key is an error that lists the known ones, an error inside the shared
/// part names its field, and the schema lists exactly the fields, closed to others.
#[test]
fn flattened_options_keep_unknown_keys_errors_paths_and_an_exact_schema() {
    let registry = Registry::with_builtins();
    let check = |text: &str| {
        PipelineConfig::from_toml_str(text)
            .and_then(|c| c.validate(&registry))
            .unwrap_err()
    };
    let think = "[[transforms]]\nkind = 'think'\ngenerator = 'g'\n";
    let err = check(&format!("{think}thoughtz = 2\n"));
    let Error::Config { path, message } = &err else {
        panic!("{err}")
    };
    assert_eq!(path, "transforms[0]");
    assert!(message.contains("unknown field `thoughtz`"), "{message}");
    assert!(
        message.contains("`thoughts`") && message.contains("`generator`"),
        "{message}"
    );
    let err = check(&format!("{think}thoughts = 'three'\n"));
    assert!(
        matches!(&err, Error::Config { path, .. } if path == "transforms[0].thoughts"),
        "{err}"
    );
    let store = "[stores.s]\nkind = 'in_memory'\n[experts.e]\nkind = 'store'\nstore = 's'\n";
    let err = check(&format!("{store}mode = 'sideways'\n"));
    assert!(
        matches!(&err, Error::Config { path, .. } if path == "experts.e.mode"),
        "{err}"
    );
    let err = check("[arranger]\nkind = 'rank_order'\nmax_passages = -1\n");
    assert!(
        matches!(&err, Error::Config { path, .. } if path == "arranger.max_passages"),
        "{err}"
    );

    let schema = registry.schema();
    let kinds = schema["$defs"]["TransformSpec"]["oneOf"]
        .as_array()
        .unwrap();
    let think = kinds
        .iter()
        .find(|k| k["properties"]["kind"]["const"] == "think")
        .unwrap();
    let mut fields: Vec<&str> = think["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "cache",
            "embedder",
            "expand_sparse",
            "generator",
            "include_query",
            "kind",
            "max_tokens",
            "mode",
            "prompt",
            "seed",
            "temperature",
            "thoughts"
        ]
    );
    assert_eq!(think["additionalProperties"], false);
    assert_eq!(think["required"], serde_json::json!(["kind", "generator"]));
}

/// A store is a component: a config names it under `[stores]`, a `store` expert searches it,
/// and what is written into the built store is what the pipeline finds.
#[tokio::test]
async fn a_config_store_is_written_and_searched() {
    use ragweave_core::{Chunk, ChunkStore, EmbedInput, EmbeddedChunk, Embedder};
    let text = "[embedders.h]\nkind = 'hashing'\ndimension = 64\n\
                [stores.mem]\nkind = 'in_memory'\nembedder = 'h'\n\
                [experts.docs]\nkind = 'store'\nstore = 'mem'\n";
    let registry = Registry::with_builtins();
    let config = PipelineConfig::from_toml_str(text).unwrap();
    config.validate(&registry).unwrap();
    let ctx = ragweave_core::config::BuildContext::new(".").creating_stores(true);
    let built = config.build_in(&registry, ctx).await.unwrap();
    let store = built
        .components
        .get::<dyn ChunkStore>("mem")
        .unwrap()
        .clone();
    let embedder = store.embedder().expect("the store has its embedder");
    assert_eq!(
        embedder.model_id(),
        built
            .components
            .get::<dyn Embedder>("h")
            .unwrap()
            .model_id()
    );
    let texts = [
        "Rust has no garbage collector.",
        "Go has a garbage collector.",
    ];
    let owned: Vec<String> = texts.iter().map(|t| t.to_string()).collect();
    let vectors = embedder.embed(&owned, EmbedInput::DOCUMENT).await.unwrap();
    let chunks = ["rust", "go"]
        .iter()
        .zip(texts)
        .zip(vectors)
        .map(|((id, text), v)| EmbeddedChunk {
            chunk: Chunk::new(*id, *id, text),
            vector: Some(v),
        })
        .collect();
    store.upsert(chunks).await.unwrap();
    let hits = built
        .pipeline
        .retrieve("rust garbage collector")
        .await
        .unwrap();
    assert_eq!(hits[0].chunk.id, "rust");
    assert!(
        hits[0].retriever.contains("bm25") && hits[0].retriever.contains("dense"),
        "hybrid: {}",
        hits[0].retriever
    );
    let missing = "[stores.s]\nkind = 'in_memory'\n[experts.e]\nkind = 'store'\nstore = 'nope'\n";
    let err = PipelineConfig::from_toml_str(missing)
        .unwrap()
        .build(&registry, ".")
        .await
        .err()
        .unwrap();
    assert!(
        matches!(&err, Error::Config { path, .. } if path == "experts.e.store"),
        "{err}"
    );
}

/// A shared struct that flattens another in turn (an endpoint with a retry policy) keeps
/// every field known two levels down, unknown keys errors, and paths, and the schema lists
/// the fields of all three.
#[test]
fn options_flattened_two_levels_down_keep_their_fields() {
    use ragweave_core::RetryPolicy;
    use ragweave_core::config::{BuildContext, ComponentConfig};

    #[derive(serde::Deserialize, schemars::JsonSchema, Default)]
    #[serde(default, deny_unknown_fields)]
    struct Endpoint {
        url: Option<String>,
        #[serde(flatten, deserialize_with = "ragweave_core::config::flat")]
        retry: RetryPolicy,
    }

    #[derive(serde::Deserialize, schemars::JsonSchema)]
    #[serde(deny_unknown_fields)]
    struct Remote {
        model: String,
        #[serde(flatten, deserialize_with = "ragweave_core::config::flat")]
        endpoint: Endpoint,
    }

    impl ComponentConfig for Remote {
        type Component = dyn ragweave_core::Embedder;
        const KIND: &'static str = "remote";
        async fn build(
            self,
            _: &BuildContext,
        ) -> ragweave_core::Result<std::sync::Arc<dyn ragweave_core::Embedder>> {
            assert_eq!(self.model, "m");
            assert_eq!(self.endpoint.url.as_deref(), Some("http://x"));
            assert_eq!(self.endpoint.retry.attempts, 2);
            Ok(std::sync::Arc::new(ragweave_core::HashingEmbedder::new(8)))
        }
    }

    let mut registry = Registry::with_builtins();
    registry.register::<Remote>();
    let head = "[embedders.e]\nkind = 'remote'\nmodel = 'm'\nurl = 'http://x'\n";
    let good = PipelineConfig::from_toml_str(&format!("{head}attempts = 2\n")).unwrap();
    good.validate(&registry).unwrap();
    let built =
        futures::executor::block_on(good.build_components(&registry, BuildContext::new(".")));
    assert!(built.is_ok());
    let err = PipelineConfig::from_toml_str(&format!("{head}attempts = 'x'\n"))
        .and_then(|c| c.validate(&registry))
        .unwrap_err();
    assert!(
        matches!(&err, Error::Config { path, .. } if path == "embedders.e.attempts"),
        "{err}"
    );
    let err = PipelineConfig::from_toml_str(&format!("{head}atempts = 2\n"))
        .and_then(|c| c.validate(&registry))
        .unwrap_err();
    assert!(err.to_string().contains("unknown field `atempts`"), "{err}");
    let schema = registry.schema();
    let remote = &schema["$defs"]["EmbedderSpec"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["properties"]["kind"]["const"] == "remote")
        .unwrap()
        .clone();
    for field in ["model", "url", "attempts", "initial_backoff_ms"] {
        assert!(
            remote["properties"].get(field).is_some(),
            "{field}: {remote}"
        );
    }
    assert_eq!(remote["additionalProperties"], false);
}
