//! Bad input to the mistral.rs plugin: typed errors that name what was wrong, and panics
//! inside mistral.rs caught at the plugin's boundary.

use std::path::PathBuf;

use ragweave_core::{Error, GenerateRequest, Generator, SamplingParams};
use ragweave_mistralrs::{
    EngineOptions, MistralRsError, MistralRsGenerator, MistralRsGeneratorOptions,
};
use ragweave_testkit::gguf::{DecoderSpec, EncoderSpec};
use ragweave_testkit::hf::Qwen3Spec;

async fn load(spec: &str) -> Result<MistralRsGenerator, MistralRsError> {
    MistralRsGenerator::load(spec, MistralRsGeneratorOptions::default()).await
}

fn tiny(dir: &tempfile::TempDir) -> PathBuf {
    let path = dir.path().join("tiny.gguf");
    DecoderSpec::tiny_byte_bpe().write(&path).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_that_are_not_models_it_runs_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.gguf");
    let e = load(missing.to_str().unwrap()).await.unwrap_err();
    assert!(
        matches!(&e, MistralRsError::MissingFile { path, .. } if *path == missing),
        "{e}"
    );

    let text = dir.path().join("notes.gguf");
    std::fs::write(&text, "just some notes").unwrap();
    let e = load(text.to_str().unwrap()).await.unwrap_err();
    assert!(matches!(e, MistralRsError::NotGguf { .. }), "{e}");
    assert!(e.to_string().contains("\"just\""), "{e}");

    let bert = dir.path().join("bert.gguf");
    EncoderSpec::tiny().write(&bert).unwrap();
    let e = load(bert.to_str().unwrap()).await.unwrap_err();
    assert!(
        matches!(&e, MistralRsError::UnsupportedArchitecture { architecture, .. } if architecture == "bert"),
        "{e}"
    );
    assert!(
        e.to_string().contains("qwen2"),
        "lists what is supported: {e}"
    );

    let empty_dir = dir.path().join("empty");
    std::fs::create_dir(&empty_dir).unwrap();
    let e = load(empty_dir.to_str().unwrap()).await.unwrap_err();
    assert!(e.to_string().contains("config.json"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_that_do_not_apply_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = tiny(&dir);
    let with = |o: MistralRsGeneratorOptions| MistralRsGenerator::load(path.to_str().unwrap(), o);
    let e = with(MistralRsGeneratorOptions {
        engine: EngineOptions {
            isq: Some("q4k".into()),
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert!(
        matches!(e, MistralRsError::Option { option: "isq", .. }),
        "{e}"
    );
    let e = with(MistralRsGeneratorOptions {
        chat_template: Some("llama3".into()),
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert!(
        matches!(
            e,
            MistralRsError::Option {
                option: "chat_template",
                ..
            }
        ),
        "{e}"
    );
    let e = with(MistralRsGeneratorOptions {
        parallel: 0,
        ..Default::default()
    })
    .await
    .unwrap_err();
    assert!(
        matches!(
            e,
            MistralRsError::Option {
                option: "parallel",
                ..
            }
        ),
        "{e}"
    );
    let hf = dir.path().join("qwen3");
    Qwen3Spec::tiny().write_causal_lm(&hf).unwrap();
    let e = MistralRsGenerator::load(
        hf.to_str().unwrap(),
        MistralRsGeneratorOptions {
            engine: EngineOptions {
                isq: Some("q9_9".into()),
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(e, MistralRsError::Option { option: "isq", .. }),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_over_long_prompt_is_invalid_input_and_the_model_stays_usable() {
    let dir = tempfile::tempdir().unwrap();
    let g = load(tiny(&dir).to_str().unwrap()).await.unwrap();
    // One token per byte: past the model's 2,048-token context.
    let mut long = GenerateRequest::user("x".repeat(3000));
    long.params.max_tokens = 4;
    let e = g.complete(&long).await.unwrap_err();
    assert!(matches!(e, Error::InvalidInput { .. }), "{e}");
    assert!(e.to_string().contains("2048"), "names the limit: {e}");
    let mut short = GenerateRequest::user("fine");
    short.params = SamplingParams {
        max_tokens: 4,
        temperature: 0.0,
        ..SamplingParams::default()
    };
    assert_eq!(g.complete(&short).await.unwrap().tokens, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_id_offline_is_a_hub_error_naming_it() {
    let e = load("ragweave-tests/no-such-model-GGUF/none.gguf")
        .await
        .unwrap_err();
    assert!(
        matches!(&e, MistralRsError::Hub { spec, .. } if spec == "ragweave-tests/no-such-model-GGUF/none.gguf"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_inside_mistral_rs_is_an_error_and_the_process_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken");
    Qwen3Spec::tiny().write_causal_lm(&broken).unwrap();
    // mistral.rs parses this with `serde_json::from_str(..).unwrap()`.
    std::fs::write(broken.join("tokenizer_config.json"), "{ not json").unwrap();
    let e = load(broken.to_str().unwrap()).await.unwrap_err();
    assert!(matches!(e, MistralRsError::Panicked { .. }), "{e}");
    assert!(e.to_string().contains("while loading the model"), "{e}");
    // The same process loads and runs a good model afterwards.
    let g = load(tiny(&dir).to_str().unwrap()).await.unwrap();
    let mut r = GenerateRequest::user("still here");
    r.params.max_tokens = 3;
    assert_eq!(g.complete(&r).await.unwrap().tokens, 3);
}
