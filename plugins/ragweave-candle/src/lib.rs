//! # ragweave-candle
//!
//! Local BERT-family models on [candle](https://github.com/huggingface/candle):
//! [`CandleEmbedder`] turns text into sentence vectors (all-MiniLM-L6-v2, bge, e5, gte) and
//! [`CrossEncoder`] reranks retrieved passages with a sequence-classification head.
//!
//! Models load from a Hugging Face-format directory (`config.json`, `tokenizer.json`,
//! `model.safetensors`, and the sentence-transformers files `modules.json`,
//! `1_Pooling/config.json`, `sentence_bert_config.json` when present) or from a hub id,
//! downloaded once into the hub cache with a progress bar. Offline, pass the directory.
//!
//! What the embedder takes from the model, each overridable in [`CandleEmbedderOptions`]:
//! - pooling (mean, CLS or max) from the pooling config, mean without one;
//! - the length limit from `sentence_bert_config.json` (`max_seq_length`), else the
//!   tokenizer's, never past the position table; longer inputs are truncated;
//! - query and document prefixes from the model's sentence-transformers `prompts`, else
//!   those its family was trained with (`query: ` / `passage: ` for e5; the retrieval
//!   instruction before queries for English bge).
//!
//! Vectors are L2-normalised. Batches are sorted by length and padded to their longest text.
//! [`Precision::F16`] halves memory on CPU and GPU; [`Precision::Bf16`] is for GPUs (candle
//! 0.10 has no bf16 matrix multiply on the CPU). The `cuda` feature runs models on NVIDIA GPUs.
//!
//! On the CPU in f32, attention runs as one fused op (each sequence and head a task on the
//! rayon pool, real tokens only) and GELU and softmax use vectorised `erf`/`exp`. Linear layers
//! use candle's GEMM (AVX2 kernels on stable Rust), or with the `openblas` feature the system
//! OpenBLAS's `sgemm` (AVX-512 kernels; Debian package `libopenblas-dev`), about 1.6x faster
//! end to end on an AVX-512 machine. `benches/embed.sh` measures both beside
//! sentence-transformers.
//!
//! Register the `candle` embedder and `candle_cross_encoder` reranker kinds with [`register`].

mod attention;
mod bert;
mod config;
mod cross_encoder;
mod dense;
mod embedder;
mod error;
mod files;
mod gelu;
mod model;
mod options;
mod pooling;
mod prompts;
mod simd;
mod softmax;

pub use config::{CandleEmbedderConfig, CrossEncoderConfig};
pub use cross_encoder::{CrossEncoder, CrossEncoderOptions};
pub use embedder::{CandleEmbedder, CandleEmbedderOptions, ModelTokenCounter};
pub use error::CandleError;
pub use files::ModelFiles;
pub use options::{Accelerator, EngineOptions, Precision};
pub use pooling::Pooling;

/// Adds the `candle` embedder and `candle_cross_encoder` reranker kinds to `registry`.
pub fn register(registry: &mut ragweave_core::config::Registry) {
    registry
        .register::<CandleEmbedderConfig>()
        .register::<CrossEncoderConfig>();
}
