//! The mistral.rs embedder on a tiny Qwen3-Embedding-style model the test writes
//! (sentence-transformers layout: last-token pooling, normalisation, query prompt).

use std::path::{Path, PathBuf};

use ragweave_core::{EmbedInput, Embedder, InputKind};
use ragweave_mistralrs::{
    EngineOptions, MistralRsEmbedder, MistralRsEmbedderOptions, MistralRsError,
};
use ragweave_testkit::gguf::DecoderSpec;
use ragweave_testkit::hf::Qwen3Spec;

fn tiny_embedding_model(dir: &tempfile::TempDir) -> PathBuf {
    let path = dir.path().join("tiny-qwen3-embedding");
    Qwen3Spec::tiny().write_embedding(&path).unwrap();
    path
}

async fn load(path: &Path, options: MistralRsEmbedderOptions) -> MistralRsEmbedder {
    MistralRsEmbedder::load(path.to_str().unwrap(), options)
        .await
        .unwrap()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    dot / (a.iter().map(|x| x * x).sum::<f32>().sqrt()
        * b.iter().map(|x| x * x).sum::<f32>().sqrt())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiny_qwen3_embedding_passes_the_embedder_suite() {
    let dir = tempfile::tempdir().unwrap();
    let e = load(
        &tiny_embedding_model(&dir),
        MistralRsEmbedderOptions::default(),
    )
    .await;
    assert_eq!(e.dimension(), Qwen3Spec::tiny().hidden_size);
    assert_eq!(e.model_id(), "tiny-qwen3-embedding");
    ragweave_testkit::embedder::check(&e).await.assert_passed();
    let v = e
        .embed_one("rivers carry sediment", EmbedInput::DOCUMENT)
        .await
        .unwrap();
    let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!(
        (norm - 1.0).abs() < 1e-3,
        "the Normalize module was not applied: |v| = {norm}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_get_the_model_prompt_and_instructions_in_its_wording() {
    let dir = tempfile::tempdir().unwrap();
    let path = tiny_embedding_model(&dir);
    let e = load(&path, MistralRsEmbedderOptions::default()).await;
    assert!(
        e.query_prefix().starts_with("Instruct: "),
        "{:?}",
        e.query_prefix()
    );
    assert_eq!(e.document_prefix(), "");
    let text = "what do rivers carry?";
    let as_query = e.embed_one(text, EmbedInput::QUERY).await.unwrap();
    let as_document = e.embed_one(text, EmbedInput::DOCUMENT).await.unwrap();
    // The query is embedded with its prompt: the same as a document carrying that prompt.
    let prompted = format!("{}{text}", e.query_prefix());
    let by_hand = e.embed_one(&prompted, EmbedInput::DOCUMENT).await.unwrap();
    assert!(cosine(&as_query, &by_hand) > 0.9999);
    assert!(cosine(&as_query, &as_document) < 0.9999);
    let task = EmbedInput {
        kind: InputKind::Query,
        instruction: Some("Find scientific claims"),
    };
    let instructed = e.embed_one(text, task).await.unwrap();
    let worded = format!("Instruct: Find scientific claims\nQuery:{text}");
    let worded = e.embed_one(&worded, EmbedInput::DOCUMENT).await.unwrap();
    assert!(cosine(&instructed, &worded) > 0.9999);
    // Configured prefixes replace the model's.
    let plain = load(
        &path,
        MistralRsEmbedderOptions {
            query_prefix: Some(String::new()),
            ..MistralRsEmbedderOptions::default()
        },
    )
    .await;
    let bare = plain.embed_one(text, EmbedInput::QUERY).await.unwrap();
    assert!(cosine(&bare, &as_document) > 0.9999);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_situ_quantisation_stays_close_to_f32() {
    let dir = tempfile::tempdir().unwrap();
    let path = tiny_embedding_model(&dir);
    let f32s = load(&path, MistralRsEmbedderOptions::default()).await;
    let q8 = load(
        &path,
        MistralRsEmbedderOptions {
            engine: EngineOptions {
                isq: Some("q8_0".into()),
                ..Default::default()
            },
            ..MistralRsEmbedderOptions::default()
        },
    )
    .await;
    ragweave_testkit::embedder::check(&q8).await.assert_passed();
    let text = ["Rust guarantees memory safety without a garbage collector.".to_string()];
    let a = f32s.embed(&text, EmbedInput::DOCUMENT).await.unwrap();
    let b = q8.embed(&text, EmbedInput::DOCUMENT).await.unwrap();
    let c = cosine(&a[0], &b[0]);
    assert!(c > 0.99 && c < 1.0 - 1e-7, "q8_0 against f32: cosine {c}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_it_cannot_embed_with_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let gguf = dir.path().join("decoder.gguf");
    DecoderSpec::tiny_byte_bpe().write(&gguf).unwrap();
    let e = MistralRsEmbedder::load(gguf.to_str().unwrap(), MistralRsEmbedderOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, MistralRsError::WrongKind { .. }), "{e}");

    // CLS pooling: mistral.rs would reach `unimplemented!()` in its engine thread.
    let cls = tiny_embedding_model(&dir);
    let pooling = cls.join("1_Pooling/config.json");
    let text = std::fs::read_to_string(&pooling).unwrap();
    let text = text
        .replace(
            "\"pooling_mode_cls_token\": false",
            "\"pooling_mode_cls_token\": true",
        )
        .replace(
            "\"pooling_mode_lasttoken\": true",
            "\"pooling_mode_lasttoken\": false",
        );
    std::fs::write(&pooling, text).unwrap();
    let e = MistralRsEmbedder::load(cls.to_str().unwrap(), MistralRsEmbedderOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(e, MistralRsError::WrongKind { .. })
            && e.to_string().contains("pooling_mode_cls_token"),
        "{e}"
    );

    let no_modules = dir.path().join("no-modules");
    Qwen3Spec::tiny().write_embedding(&no_modules).unwrap();
    std::fs::remove_file(no_modules.join("modules.json")).unwrap();
    let e = MistralRsEmbedder::load(
        no_modules.to_str().unwrap(),
        MistralRsEmbedderOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("modules.json"), "{e}");

    let llama = dir.path().join("llama");
    Qwen3Spec::tiny().write_embedding(&llama).unwrap();
    let config = std::fs::read_to_string(llama.join("config.json")).unwrap();
    std::fs::write(
        llama.join("config.json"),
        config.replace("Qwen3ForCausalLM", "LlamaForCausalLM"),
    )
    .unwrap();
    let e = MistralRsEmbedder::load(llama.to_str().unwrap(), MistralRsEmbedderOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, MistralRsError::UnsupportedArchitecture { architecture, .. } if architecture == "LlamaForCausalLM"),
        "{e}"
    );
}
