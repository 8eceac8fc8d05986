//! Decoding speed of the mistral.rs generator against the llama.cpp generator, side by side
//! in one process on the same GGUF: a random-weight model in Qwen2.5-0.5B's shape (Q8_0,
//! GPT-2 byte vocabulary so both engines decode its text; speed does not depend on the
//! weights' values), the same chat request (a 512-token prompt), 128 generated tokens,
//! greedy, runs alternating between the engines.
//!
//! `cargo run --release -p ragweave-mistralrs --example engine_bench [runs]`
//! (or `bash benches/engines.sh`). The model is written once to
//! `~/.cache/ragweave/bench/qwen2.5-0.5b-shape-random-q8_0-bytebpe.gguf` (about 530 MB).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures::StreamExt;
use ragweave_core::{GenerateRequest, Generator, SamplingParams};
use ragweave_llama_cpp::{LlamaGenerator, LlamaGeneratorOptions};
use ragweave_mistralrs::{MistralRsGenerator, MistralRsGeneratorOptions};
use ragweave_testkit::gguf::{DecoderSpec, TensorType, Vocabulary};

const PROMPT: usize = 512;
const GENERATE: usize = 128;

/// Time to the first piece and to the end, and the tokens generated.
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

async fn run(g: &dyn Generator, request: &GenerateRequest) -> Run {
    let start = Instant::now();
    let mut stream = g.stream(request).await.unwrap();
    let mut first = None;
    while let Some(piece) = stream.next().await {
        std::hint::black_box(piece.unwrap());
        first.get_or_insert_with(|| start.elapsed());
    }
    let total = start.elapsed();
    // Pieces are not tokens in mistral.rs (an incomplete character holds its chunk back);
    // main checks with `complete` that both engines generate GENERATE tokens.
    Run {
        first: first.unwrap_or(total),
        total,
        tokens: GENERATE,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn model_path() -> PathBuf {
    let home = std::env::var_os("HOME").map_or(PathBuf::from("."), PathBuf::from);
    let path = home.join(".cache/ragweave/bench/qwen2.5-0.5b-shape-random-q8_0-bytebpe.gguf");
    if !path.exists() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        eprintln!("writing {} ...", path.display());
        let tmp = path.with_extension("partial");
        let spec = DecoderSpec {
            vocabulary: Vocabulary::Gpt2Bytes,
            ..DecoderSpec::qwen2_5_0_5b(TensorType::Q8_0)
        };
        spec.write(&tmp).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
    }
    path
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let runs: usize = std::env::args().nth(1).map_or(3, |a| a.parse().unwrap());
    let path = model_path();
    let spec = path.to_str().unwrap();
    let cpp = LlamaGenerator::load(
        spec,
        LlamaGeneratorOptions {
            context_length: Some(1024),
            parallel: 1,
            ..LlamaGeneratorOptions::default()
        },
    )
    .unwrap();
    let mrs = MistralRsGenerator::load(
        spec,
        MistralRsGeneratorOptions {
            parallel: 1,
            ..MistralRsGeneratorOptions::default()
        },
    )
    .await
    .unwrap();
    // A user message whose ChatML prompt is PROMPT tokens (one per byte) in both engines.
    let overhead = cpp.prompt_tokens(&GenerateRequest::user("")).unwrap().len();
    let mut request = GenerateRequest::user("r".repeat(PROMPT - overhead));
    request.params = SamplingParams {
        max_tokens: GENERATE,
        temperature: 0.0,
        ..SamplingParams::default()
    };
    assert_eq!(cpp.prompt_tokens(&request).unwrap().len(), PROMPT);
    println!(
        "model: Qwen2.5-0.5B shape, random Q8_0 weights ({} MB), {} cores; prompt {PROMPT} tokens, {GENERATE} generated, greedy, {runs} runs each, alternating",
        std::fs::metadata(&path).unwrap().len() >> 20,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    // Both must generate GENERATE tokens for the rates to compare like with like.
    for (name, g) in [("llama.cpp", &cpp as &dyn Generator), ("mistral.rs", &mrs)] {
        let c = g.complete(&request).await.unwrap();
        assert_eq!(c.tokens, GENERATE, "{name} stopped early: {c:?}");
    }
    let (mut c, mut m) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        c.push(run(&cpp, &request).await);
        m.push(run(&mrs, &request).await);
    }
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
        (ttft, rate, e2e)
    };
    let (ct, cr, ce) = report("ragweave LlamaGenerator", &c);
    let (mt, mr, me) = report("ragweave MistralRsGenerator", &m);
    println!(
        "mistral.rs / llama.cpp: decode {:.3}x, end to end {:.3}x, time to first token {:.2}x",
        mr / cr,
        me / ce,
        mt / ct
    );
}
