//! # ragweave-llama-cpp
//!
//! GGUF models on llama.cpp (through `llama-cpp-2`): a streaming chat [`LlamaGenerator`],
//! a [`LlamaEmbedder`] for embedding models (BERT family and decoder embedders) and a
//! [`LlamaReranker`] for reranking models (llama.cpp's rank pooling). Models load from a
//! path or a Hugging Face hub file (`owner/repo/file.gguf`); bad input is a typed
//! [`LlamaCppError`], checked before llama.cpp sees it where llama.cpp would abort.
//!
//! Config kinds (registered by the `ragweave` facade's `llama-cpp` feature):
//! `llama_cpp` (generator), `llama_cpp_embedder`, `llama_cpp_reranker`.

#![warn(missing_docs)]

mod backend;
mod config;
mod context_thread;
mod embedder;
mod encoder;
mod error;
mod files;
mod generator;
mod model;
mod pieces;
mod reranker;
mod sampling;
mod template;
mod worker;

pub use config::{LlamaEmbedderConfig, LlamaGeneratorConfig, LlamaRerankerConfig};
pub use embedder::{EmbeddingPooling, LlamaEmbedder, LlamaEmbedderOptions};
pub use encoder::EncoderOptions;
pub use error::LlamaCppError;

/// The llama-cpp-2 bindings this plugin is built on, for code that drives llama.cpp directly
/// beside it (use [`llama_backend`] rather than initialising a second backend).
pub use llama_cpp_2;

/// The process's llama.cpp backend. llama.cpp allows one per process and this plugin
/// initialises it on first use; code calling llama-cpp-2 directly must share it.
pub fn llama_backend() -> &'static llama_cpp_2::llama_backend::LlamaBackend {
    backend::backend()
}
pub use files::resolve;
pub use generator::{LlamaGenerator, LlamaGeneratorOptions};
pub use reranker::LlamaReranker;
pub use template::TemplateSource;

/// Registers this plugin's config kinds: `llama_cpp`, `llama_cpp_embedder`, `llama_cpp_reranker`.
pub fn register(registry: &mut ragweave_core::config::Registry) {
    registry
        .register::<LlamaGeneratorConfig>()
        .register::<LlamaEmbedderConfig>()
        .register::<LlamaRerankerConfig>();
}
