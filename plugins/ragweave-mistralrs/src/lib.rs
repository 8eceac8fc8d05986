//! # ragweave-mistralrs
//!
//! Local models on [mistral.rs](https://github.com/EricLBuehler/mistral.rs): a streaming
//! chat [`MistralRsGenerator`] for GGUF files and Hugging Face-format models (with optional
//! in-situ quantisation), and a [`MistralRsEmbedder`] for its embedding models
//! (EmbeddingGemma, Qwen3-Embedding). Models load from a path or the Hugging Face hub; bad
//! input is a typed [`MistralRsError`], and a panic inside mistral.rs is caught at this
//! crate's boundary and returned as one.
//!
//! mistral.rs is the heaviest dependency of the workspace (tens of minutes to compile), so
//! it lives in this crate alone. The `cuda` feature runs models on an NVIDIA GPU.
//!
//! Config kinds (registered by [`register`], and by the `ragweave` facade's `mistralrs`
//! feature): `mistralrs` (generator), `mistralrs_embedder`.

#![warn(missing_docs)]

mod config;
mod embedder;
mod end_tokens;
mod engine;
mod error;
mod generator;
mod guard;
mod prompts;
mod reply;
mod source;
mod template;

pub use config::{MistralRsEmbedderConfig, MistralRsGeneratorConfig};
pub use embedder::{MistralRsEmbedder, MistralRsEmbedderOptions};
pub use engine::{Dtype, EngineOptions};
pub use error::MistralRsError;
pub use generator::{MistralRsGenerator, MistralRsGeneratorOptions};
pub use template::{CHATML, TemplateSource};

/// The mistral.rs crate this plugin is built on, for code that uses it beside the plugin
/// (for example [`MistralRsGenerator::model`]'s raw requests).
pub use mistralrs;

/// Registers this plugin's config kinds: `mistralrs` and `mistralrs_embedder`.
pub fn register(registry: &mut ragweave_core::config::Registry) {
    registry
        .register::<MistralRsGeneratorConfig>()
        .register::<MistralRsEmbedderConfig>();
}
