//! mistral.rs against llama.cpp on the same tiny GGUF decoder: the logits of the first
//! generated position, greedy decoding step by step, the same chat request through both
//! plugins, and one pipeline config that runs on either engine by its generator's `kind`.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

use ragweave_core::config::{PipelineConfig, Registry};
use ragweave_core::{GenerateRequest, Generator, SamplingParams};
use ragweave_llama_cpp::llama_cpp_2::context::params::LlamaContextParams;
use ragweave_llama_cpp::llama_cpp_2::llama_batch::LlamaBatch;
use ragweave_llama_cpp::llama_cpp_2::model::LlamaModel;
use ragweave_llama_cpp::llama_cpp_2::model::params::LlamaModelParams;
use ragweave_llama_cpp::llama_cpp_2::token::LlamaToken;
use ragweave_llama_cpp::{LlamaGenerator, LlamaGeneratorOptions, llama_backend};
use ragweave_mistralrs::mistralrs::{
    Constraint, NormalRequest, Request, RequestMessage, Response, SamplingParams as MrsSampling,
};
use ragweave_mistralrs::{MistralRsGenerator, MistralRsGeneratorOptions};
use ragweave_testkit::gguf::DecoderSpec;

/// Greedy steps compared.
const STEPS: usize = 16;

fn tiny(dir: &tempfile::TempDir) -> PathBuf {
    let path = dir.path().join("tiny.gguf");
    DecoderSpec::tiny_byte_bpe().write(&path).unwrap();
    path
}

/// With the GPT-2 byte vocabulary, token `b` is byte `b`.
fn prompt() -> Vec<u32> {
    b"The river carries sediment to the sea."
        .iter()
        .map(|&b| u32::from(b))
        .collect()
}

fn argmax(v: &[f32]) -> u32 {
    (0..v.len()).max_by(|&a, &b| v[a].total_cmp(&v[b])).unwrap() as u32
}

/// llama.cpp: logits after the prompt, then after each greedy token.
fn llama_cpp_greedy(path: &Path, prompt: &[u32]) -> (Vec<Vec<f32>>, Vec<u32>) {
    let backend = llama_backend();
    let model = LlamaModel::load_from_file(backend, path, &LlamaModelParams::default()).unwrap();
    let params = LlamaContextParams::default().with_n_ctx(NonZeroU32::new(512));
    let mut ctx = model.new_context(backend, params).unwrap();
    let mut batch = LlamaBatch::new(512, 1);
    for (i, &t) in prompt.iter().enumerate() {
        let last = i + 1 == prompt.len();
        batch
            .add(LlamaToken::new(t as i32), i as i32, &[0], last)
            .unwrap();
    }
    ctx.decode(&mut batch).unwrap();
    let mut logits = vec![ctx.get_logits_ith(batch.n_tokens() - 1).to_vec()];
    let mut tokens = Vec::new();
    for step in 0..STEPS {
        let next = argmax(logits.last().unwrap());
        tokens.push(next);
        if step + 1 == STEPS {
            break;
        }
        batch.clear();
        let pos = (prompt.len() + step) as i32;
        batch
            .add(LlamaToken::new(next as i32), pos, &[0], true)
            .unwrap();
        ctx.decode(&mut batch).unwrap();
        logits.push(ctx.get_logits_ith(0).to_vec());
    }
    (logits, tokens)
}

/// mistral.rs: the raw logits of the position after `tokens`.
async fn mistralrs_logits(g: &MistralRsGenerator, tokens: Vec<u32>) -> Vec<f32> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(1);
    let request = NormalRequest {
        messages: RequestMessage::CompletionTokens(tokens),
        sampling_params: MrsSampling {
            max_len: Some(1),
            ..MrsSampling::deterministic()
        },
        response: tx,
        return_logprobs: false,
        is_streaming: false,
        id: 0,
        constraint: Constraint::None,
        suffix: None,
        tools: None,
        tool_choice: None,
        logits_processors: None,
        return_raw_logits: true,
        web_search_options: None,
        model_id: None,
        truncate_sequence: false,
    };
    let sender = g.model().inner().get_sender(None).unwrap();
    sender
        .send(Request::Normal(Box::new(request)))
        .await
        .unwrap();
    let Some(Response::Raw { logits_chunks, .. }) = rx.recv().await else {
        panic!("no raw logits");
    };
    let last = logits_chunks.last().unwrap();
    let rows = last
        .flatten_all()
        .unwrap()
        .to_dtype(ragweave_mistralrs::mistralrs::DType::F32)
        .unwrap();
    let all: Vec<f32> = rows.to_vec1().unwrap();
    let vocab = DecoderSpec::tiny_byte_bpe().vocab_size;
    all[all.len() - vocab..].to_vec()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logits_and_greedy_tokens_agree_with_llama_cpp() {
    let dir = tempfile::tempdir().unwrap();
    let path = tiny(&dir);
    let prompt = prompt();
    let (cpp_logits, cpp_tokens) = llama_cpp_greedy(&path, &prompt);
    let g = MistralRsGenerator::load(path.to_str().unwrap(), MistralRsGeneratorOptions::default())
        .await
        .unwrap();
    let mut sequence = prompt.clone();
    let mut worst = Vec::new();
    let mut agree = 0;
    for (step, cpp) in cpp_logits.iter().enumerate() {
        let mrs = mistralrs_logits(&g, sequence.clone()).await;
        worst.push(max_abs_diff(&mrs, cpp));
        if argmax(&mrs) == cpp_tokens[step] {
            agree += 1;
        }
        // Both continue with llama.cpp's token, so every step compares the same context.
        sequence.push(cpp_tokens[step]);
    }
    let range = cpp_logits[0].iter().fold(0f32, |m, x| m.max(x.abs()));
    eprintln!(
        "first position: largest |logit difference| {:.5} (logits up to {range:.2}); all {STEPS} steps: {:.5}; greedy tokens agree at {agree} of {STEPS} steps",
        worst[0],
        worst.iter().cloned().fold(0.0, f32::max)
    );
    // mistral.rs computes GGUF activations in 16-bit floats on the CPU, llama.cpp in f32.
    assert!(
        worst[0] < 0.02 * range,
        "first position differs by {}",
        worst[0]
    );
    assert_eq!(agree, STEPS, "greedy tokens differ");
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
async fn the_same_chat_request_gives_the_same_greedy_reply_on_both_plugins() {
    let dir = tempfile::tempdir().unwrap();
    let path = tiny(&dir);
    let cpp =
        LlamaGenerator::load(path.to_str().unwrap(), LlamaGeneratorOptions::default()).unwrap();
    let mrs =
        MistralRsGenerator::load(path.to_str().unwrap(), MistralRsGeneratorOptions::default())
            .await
            .unwrap();
    for text in ["Name a river.", "What is in the sea?"] {
        let a = cpp.complete(&greedy(text, 24)).await.unwrap();
        let b = mrs.complete(&greedy(text, 24)).await.unwrap();
        eprintln!("llama.cpp {:?}\nmistral.rs {:?}", a.text, b.text);
        assert_eq!(a.tokens, b.tokens);
        assert_eq!(same_text(&a.text), same_text(&b.text));
    }
}

/// A reply ending inside a UTF-8 character (random weights emit any byte): llama.cpp
/// renders the incomplete character as U+FFFD, mistral.rs leaves it out.
fn same_text(text: &str) -> &str {
    text.trim_end_matches(char::REPLACEMENT_CHARACTER)
}

fn registry() -> Registry {
    let mut r = Registry::with_builtins();
    ragweave_llama_cpp::register(&mut r);
    ragweave_mistralrs::register(&mut r);
    r
}

const CONFIG: &str = r#"
generator = "local"

[sampling]
temperature = 0.0
max_tokens = 24

[experts.bm25]
kind = "bm25"
corpus = "corpus.jsonl"

[generators.local]
kind = "KIND"
model = "tiny.gguf"
parallel = 2
chat_template = "chatml"

[[transforms]]     # greedy thoughts: seeds are llama.cpp's alone
kind = "think"
generator = "local"
thoughts = 1
max_tokens = 12
temperature = 0.0
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_pipeline_config_runs_on_either_engine_by_its_kind() {
    let dir = tempfile::tempdir().unwrap();
    tiny(&dir);
    std::fs::write(
        dir.path().join("corpus.jsonl"),
        "{\"_id\": \"d1\", \"text\": \"Rivers carry sediment to the sea.\"}\n{\"_id\": \"d2\", \"text\": \"Mountains rise where plates collide.\"}\n",
    )
    .unwrap();
    let mut answers = Vec::new();
    for kind in ["llama_cpp", "mistralrs"] {
        let config = PipelineConfig::from_toml_str(&CONFIG.replace("KIND", kind)).unwrap();
        let pipeline = config.build(&registry(), dir.path()).await.unwrap();
        let answer = pipeline
            .ask("where do rivers carry sediment?")
            .await
            .unwrap();
        assert_eq!(answer.hits[0].chunk.id, "d1", "{kind}");
        assert!(!answer.text.is_empty(), "{kind}");
        answers.push(answer.text);
    }
    eprintln!("llama_cpp: {:?}\nmistralrs: {:?}", answers[0], answers[1]);
    assert_eq!(same_text(&answers[0]), same_text(&answers[1]));
}
