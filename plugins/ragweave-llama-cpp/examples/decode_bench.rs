//! Decoding speed of `LlamaGenerator` against a bare llama-cpp-2 loop on the same GGUF, side
//! by side in one process: a random-weight model in Qwen2.5-0.5B's shape (Q8_0; speed does not
//! depend on the weights' values), a 512-token prompt, 128 generated tokens, greedy.
//!
//! `cargo run --release -p ragweave-llama-cpp --example decode_bench [runs]`
//! (or `bash benches/decode.sh`). The model is written once to
//! `~/.cache/ragweave/bench/qwen2.5-0.5b-shape-random-q8_0.gguf` (about 530 MB).

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures::StreamExt;
use ragweave_core::{GenerateRequest, Generator, SamplingParams};
use ragweave_llama_cpp::llama_cpp_2::context::LlamaContext;
use ragweave_llama_cpp::llama_cpp_2::context::params::LlamaContextParams;
use ragweave_llama_cpp::llama_cpp_2::llama_batch::LlamaBatch;
use ragweave_llama_cpp::llama_cpp_2::model::LlamaModel;
use ragweave_llama_cpp::llama_cpp_2::model::params::LlamaModelParams;
use ragweave_llama_cpp::llama_cpp_2::sampling::LlamaSampler;
use ragweave_llama_cpp::llama_cpp_2::token::LlamaToken;
use ragweave_llama_cpp::{LlamaGenerator, LlamaGeneratorOptions, llama_backend};
use ragweave_testkit::gguf::{DecoderSpec, TensorType};

const PROMPT: usize = 512;
const GENERATE: usize = 128;
const CONTEXT: u32 = 1024;

/// Time to the first token and to the last.
#[derive(Debug, Clone, Copy)]
struct Run {
    first: Duration,
    total: Duration,
    tokens: usize,
}

impl Run {
    /// Tokens per second after the first (the decode loop proper).
    fn decode_rate(&self) -> f64 {
        (self.tokens - 1) as f64 / (self.total - self.first).as_secs_f64()
    }
}

fn threads() -> i32 {
    std::thread::available_parallelism().map_or(4, |n| n.get() as i32)
}

/// llama-cpp-2 as its examples use it: one context, the prompt in one batch, then one token
/// per decode, greedy.
/// The context is made once, outside the timing, as the generator's worker makes its own.
fn bare(
    model: &LlamaModel,
    ctx: &mut LlamaContext<'_>,
    prompt: &[LlamaToken],
    generate: usize,
) -> Run {
    ctx.clear_kv_cache();
    let start = Instant::now();
    let mut batch = LlamaBatch::new(512, 1);
    for (i, t) in prompt.iter().enumerate() {
        batch
            .add(*t, i as i32, &[0], i + 1 == prompt.len())
            .unwrap();
    }
    ctx.decode(&mut batch).unwrap();
    let mut sampler = LlamaSampler::greedy();
    let vocab = model.vocab();
    let mut first = None;
    let mut text = Vec::new();
    for (n, pos) in (0..generate).zip(prompt.len() as i32..) {
        let token = sampler.sample(ctx, batch.n_tokens() - 1);
        text.extend(vocab.token_to_piece(token, false, None));
        first.get_or_insert_with(|| start.elapsed());
        if n + 1 == generate {
            break;
        }
        batch.clear();
        batch.add(token, pos, &[0], true).unwrap();
        ctx.decode(&mut batch).unwrap();
    }
    std::hint::black_box(text);
    Run {
        first: first.unwrap(),
        total: start.elapsed(),
        tokens: generate,
    }
}

async fn ours(g: &LlamaGenerator, request: &GenerateRequest) -> Run {
    let start = Instant::now();
    let mut stream = g.stream(request).await.unwrap();
    let mut first = None;
    let mut tokens = 0;
    while let Some(piece) = stream.next().await {
        std::hint::black_box(piece.unwrap());
        first.get_or_insert_with(|| start.elapsed());
        tokens += 1;
    }
    Run {
        first: first.unwrap(),
        total: start.elapsed(),
        tokens,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() {
    let runs: usize = std::env::args().nth(1).map_or(3, |a| a.parse().unwrap());
    let home = std::env::var_os("HOME").map_or(PathBuf::from("."), PathBuf::from);
    let path = home.join(".cache/ragweave/bench/qwen2.5-0.5b-shape-random-q8_0.gguf");
    if !path.exists() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        eprintln!("writing {} ...", path.display());
        let tmp = path.with_extension("partial");
        DecoderSpec::qwen2_5_0_5b(TensorType::Q8_0)
            .write(&tmp)
            .unwrap();
        std::fs::rename(&tmp, &path).unwrap();
    }
    let g = LlamaGenerator::load(
        path.to_str().unwrap(),
        LlamaGeneratorOptions {
            context_length: Some(CONTEXT),
            parallel: 1,
            ..LlamaGeneratorOptions::default()
        },
    )
    .unwrap();
    // A user message whose chat-formatted prompt is exactly PROMPT tokens (one per byte).
    let overhead = g.prompt_tokens(&GenerateRequest::user("")).unwrap().len();
    let mut request = GenerateRequest::user("r".repeat(PROMPT - overhead));
    request.params = SamplingParams {
        max_tokens: GENERATE,
        temperature: 0.0,
        ..SamplingParams::default()
    };
    let prompt = g.prompt_tokens(&request).unwrap();
    assert_eq!(prompt.len(), PROMPT);
    // The bare loop gets its own copy of the model, as a program without ragweave would.
    let model =
        LlamaModel::load_from_file(llama_backend(), &path, &LlamaModelParams::default()).unwrap();
    println!(
        "model: Qwen2.5-0.5B shape, random Q8_0 weights ({} MB), {} threads; prompt {PROMPT} tokens, {GENERATE} generated, greedy, {runs} runs each, alternating",
        std::fs::metadata(&path).unwrap().len() >> 20,
        threads()
    );
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(CONTEXT))
        .with_n_batch(512)
        .with_n_ubatch(512)
        .with_n_threads(threads())
        .with_n_threads_batch(threads());
    let mut ctx = model.new_context(llama_backend(), params).unwrap();
    // Warm both (page cache, thread pools).
    bare(&model, &mut ctx, &prompt[..16], 2);
    let _ = g
        .complete(&GenerateRequest {
            params: SamplingParams {
                max_tokens: 2,
                ..request.params.clone()
            },
            ..request.clone()
        })
        .await;
    let (mut b, mut o) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        b.push(bare(&model, &mut ctx, &prompt, GENERATE));
        o.push(ours(&g, &request).await);
    }
    assert!(
        o.iter().all(|r| r.tokens == GENERATE),
        "an end-of-generation token came early: {o:?}"
    );
    let report = |name: &str, runs: &[Run]| {
        let ttft = median(runs.iter().map(|r| r.first.as_secs_f64() * 1e3).collect());
        let rate = median(runs.iter().map(Run::decode_rate).collect());
        let e2e = median(
            runs.iter()
                .map(|r| r.tokens as f64 / r.total.as_secs_f64())
                .collect(),
        );
        println!(
            "{name:<28} time to first token {ttft:8.1} ms   decode {rate:6.2} tokens/s   end to end {e2e:6.2} tokens/s"
        );
        (ttft, rate)
    };
    let (bt, br) = report("bare llama-cpp-2 loop", &b);
    let (ot, or) = report("ragweave LlamaGenerator", &o);
    println!(
        "decode ratio ragweave / bare = {:.3}x; time-to-first-token difference = {:+.2} ms",
        or / br,
        ot - bt
    );

    // The first token's overhead on its own: a short prompt, one token, many runs, so the
    // prompt's compute does not drown the difference.
    let short = GenerateRequest::user("");
    let short = GenerateRequest {
        params: SamplingParams {
            max_tokens: 1,
            ..request.params.clone()
        },
        ..short
    };
    let short_prompt = g.prompt_tokens(&short).unwrap();
    let (mut bt, mut ot) = (Vec::new(), Vec::new());
    for _ in 0..(runs * 10) {
        bt.push(bare(&model, &mut ctx, &short_prompt, 1).first.as_secs_f64() * 1e3);
        ot.push(ours(&g, &short).await.first.as_secs_f64() * 1e3);
    }
    let (bt, ot) = (median(bt), median(ot));
    println!(
        "first token after a {}-token prompt, median of {}: bare {bt:.2} ms, ragweave {ot:.2} ms, overhead {:+.2} ms",
        short_prompt.len(),
        runs * 10,
        ot - bt
    );
}
