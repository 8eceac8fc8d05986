//! [`SamplingParams`] as a llama.cpp sampler chain.

use llama_cpp_2::sampling::LlamaSampler;
use ragweave_core::{Error, Result, SamplingParams};

/// How many recent tokens the repeat penalty looks at (llama.cpp's default).
const PENALTY_WINDOW: i32 = 64;

/// Checks what llama.cpp's samplers would otherwise misread (it asserts on some values).
pub(crate) fn validate(params: &SamplingParams) -> Result<()> {
    params.validate()?;
    if let Some(p) = params.min_p.filter(|p| !(0.0..=1.0).contains(p)) {
        return Err(Error::invalid(
            "sampling.min_p",
            format!("must be in [0, 1], got {p}"),
        ));
    }
    if let Some(r) = params
        .repeat_penalty
        .filter(|r| !(r.is_finite() && *r > 0.0))
    {
        return Err(Error::invalid(
            "sampling.repeat_penalty",
            format!("must be a finite number > 0, got {r}"),
        ));
    }
    if params.top_k == Some(0) {
        return Err(Error::invalid("sampling.top_k", "must be at least 1"));
    }
    Ok(())
}

/// Penalties, then greedy at temperature 0; else top-k, top-p, min-p, temperature and a
/// seeded draw (a random seed when none is given).
pub(crate) fn chain(params: &SamplingParams, n_vocab: i32) -> LlamaSampler {
    let mut stages = Vec::new();
    if let Some(r) = params.repeat_penalty.filter(|r| *r != 1.0) {
        stages.push(LlamaSampler::penalties(
            n_vocab,
            PENALTY_WINDOW,
            r,
            0.0,
            0.0,
        ));
    }
    if params.temperature == 0.0 {
        stages.push(LlamaSampler::greedy());
        return LlamaSampler::chain_simple(stages);
    }
    if let Some(k) = params.top_k {
        stages.push(LlamaSampler::top_k(k.min(i32::MAX as u32) as i32));
    }
    if let Some(p) = params.top_p {
        stages.push(LlamaSampler::top_p(p, 1));
    }
    if let Some(p) = params.min_p {
        stages.push(LlamaSampler::min_p(p, 1));
    }
    stages.push(LlamaSampler::temp(params.temperature));
    let seed = params.seed.unwrap_or_else(random_seed);
    // llama.cpp seeds are 32 bits; fold the high half in so distinct u64 seeds stay distinct.
    stages.push(LlamaSampler::dist((seed ^ (seed >> 32)) as u32));
    LlamaSampler::chain_simple(stages)
}

fn random_seed() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}
