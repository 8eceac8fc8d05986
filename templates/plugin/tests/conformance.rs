//! The testkit's embedder suite, and the plugin used from a pipeline config.

use {{crate_name}}::{TrigramEmbedder, register};
use ragweave_core::config::{PipelineConfig, Registry};
use ragweave_core::{Embedder, Error};

#[tokio::test]
async fn passes_the_embedder_conformance_suite() {
    let embedder = TrigramEmbedder::new(384).unwrap();
    ragweave_testkit::embedder::check(&embedder)
        .await
        .assert_passed();
}

#[tokio::test]
async fn a_pipeline_config_can_name_the_new_kind() {
    let dir =
        std::env::temp_dir().join(format!("{}-{}", env!("CARGO_PKG_NAME"), std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("corpus.jsonl"),
        concat!(
            r#"{"id": "rivers", "text": "Rivers carry water from the mountains to the sea."}"#,
            "\n",
            r#"{"id": "bread", "text": "Bread rises because yeast ferments the sugar."}"#,
            "\n",
        ),
    )
    .unwrap();
    let config = PipelineConfig::from_toml_str(
        r#"
        [embedders.mine]
        kind = "{{crate_name}}"
        dimension = 256

        [experts.notes]
        kind = "in_memory"
        embedder = "mine"
        corpus = "corpus.jsonl"
        "#,
    )
    .unwrap();
    let mut registry = Registry::with_builtins();
    register(&mut registry);
    let pipeline = config.build(&registry, &dir).await.unwrap();
    let answer = pipeline.ask("why does bread rise?").await.unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(answer.hits[0].chunk.document_id, "bread");
}

#[tokio::test]
async fn a_bad_config_names_the_field() {
    let config = PipelineConfig::from_toml_str(
        r#"
        [embedders.mine]
        kind = "{{crate_name}}"
        dimension = 0
        "#,
    )
    .unwrap();
    let mut registry = Registry::with_builtins();
    register(&mut registry);
    match config.build(&registry, ".").await {
        Err(Error::Config { path, .. }) => assert_eq!(path, "embedders.mine.dimension"),
        Err(other) => panic!("expected a config error, got {other}"),
        Ok(_) => panic!("a zero dimension was accepted"),
    }
}

#[tokio::test]
async fn similar_texts_are_closer_than_unrelated_ones() {
    let embedder = TrigramEmbedder::new(384).unwrap();
    let texts = [
        "the river flows".to_string(),
        "rivers flowing".to_string(),
        "yeast and sugar".to_string(),
    ];
    let v = embedder
        .embed(&texts, ragweave_core::EmbedInput::DOCUMENT)
        .await
        .unwrap();
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    assert!(dot(&v[0], &v[1]) > dot(&v[0], &v[2]) + 0.1);
}
