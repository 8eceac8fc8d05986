//! The mistral.rs generator on real models the test writes: the testkit's tiny random GGUF
//! decoder (GgufModelBuilder) and a tiny Hugging Face-format Qwen3 (TextModelBuilder, with
//! and without in-situ quantisation).

use std::path::PathBuf;

use ragweave_core::{GenerateRequest, Generator, SamplingParams};
use ragweave_mistralrs::{
    EngineOptions, MistralRsGenerator, MistralRsGeneratorOptions, TemplateSource,
};
use ragweave_testkit::gguf::DecoderSpec;
use ragweave_testkit::hf::Qwen3Spec;

fn tiny_gguf(dir: &tempfile::TempDir) -> PathBuf {
    let path = dir.path().join("tiny-llama.gguf");
    DecoderSpec::tiny_byte_bpe().write(&path).unwrap();
    path
}

fn greedy(text: &str, max_tokens: usize) -> GenerateRequest {
    let mut r = GenerateRequest::user(text);
    r.params = SamplingParams {
        max_tokens,
        temperature: 0.0,
        ..SamplingParams::default()
    };
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiny_gguf_decoder_passes_the_generator_suite() {
    let dir = tempfile::tempdir().unwrap();
    let g = MistralRsGenerator::load(
        tiny_gguf(&dir).to_str().unwrap(),
        MistralRsGeneratorOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(g.architecture(), "llama");
    assert_eq!(g.template_source(), &TemplateSource::Model);
    ragweave_testkit::generator::check(&g).await.assert_passed();
    let out = g.complete(&greedy("Hello", 16)).await.unwrap();
    assert_eq!(out.tokens, 16, "{out:?}");
    assert!(!out.text.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_match_one_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let g = MistralRsGenerator::load(
        tiny_gguf(&dir).to_str().unwrap(),
        MistralRsGeneratorOptions::default(),
    )
    .await
    .unwrap();
    let prompts = ["rivers", "mountains and lakes", "a", "the sea, the sea"];
    let mut alone = Vec::new();
    for p in prompts {
        alone.push(g.complete(&greedy(p, 10)).await.unwrap().text);
    }
    let requests: Vec<GenerateRequest> = prompts.iter().map(|p| greedy(p, 10)).collect();
    let together = futures::future::join_all(requests.iter().map(|r| g.complete(r))).await;
    let together: Vec<String> = together.into_iter().map(|c| c.unwrap().text).collect();
    assert_eq!(alone, together);
    assert!(
        alone.iter().collect::<std::collections::HashSet<_>>().len() > 1,
        "different prompts should give different replies: {alone:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hugging_face_format_model_passes_the_suite_plain_and_quantised() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny-qwen3");
    Qwen3Spec::tiny().write_causal_lm(&model).unwrap();
    let plain = MistralRsGenerator::load(
        model.to_str().unwrap(),
        MistralRsGeneratorOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(plain.architecture(), "Qwen3ForCausalLM");
    ragweave_testkit::generator::check(&plain)
        .await
        .assert_passed();
    let quantised = MistralRsGenerator::load(
        model.to_str().unwrap(),
        MistralRsGeneratorOptions {
            engine: EngineOptions {
                isq: Some("q8_0".into()),
                ..Default::default()
            },
            ..MistralRsGeneratorOptions::default()
        },
    )
    .await
    .unwrap();
    ragweave_testkit::generator::check(&quantised)
        .await
        .assert_passed();
    let a = plain.complete(&greedy("Hello", 12)).await.unwrap();
    let b = quantised.complete(&greedy("Hello", 12)).await.unwrap();
    assert_eq!(b.tokens, 12);
    // Quantising moves the logits: were ISQ ignored, greedy decoding would repeat exactly.
    assert_ne!(a.text, b.text, "q8_0 weights decoded exactly like f32 ones");
}
