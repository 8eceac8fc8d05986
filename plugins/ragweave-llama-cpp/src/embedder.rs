//! [`LlamaEmbedder`]: GGUF embedding models (BERT family, decoder embedders) on llama.cpp.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use llama_cpp_2::context::params::LlamaPoolingType;
use llama_cpp_2::model::LlamaModel;
use ragweave_core::{EmbedInput, Embedder, Error, InputKind, Result, TokenCounter};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::context_thread::ContextThread;
use crate::encoder::{self, EncodeJob, EncoderOptions, model_pooling, tokens_for};
use crate::error::LlamaCppError;
use crate::model::{self, Loaded};

/// How token states become one vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EmbeddingPooling {
    /// Mean over tokens (BERT sentence embedders).
    Mean,
    /// The first token (`[CLS]`).
    Cls,
    /// The last token (decoder embedders such as Qwen3-Embedding).
    Last,
}

impl EmbeddingPooling {
    fn llama(self) -> LlamaPoolingType {
        match self {
            EmbeddingPooling::Mean => LlamaPoolingType::Mean,
            EmbeddingPooling::Cls => LlamaPoolingType::Cls,
            EmbeddingPooling::Last => LlamaPoolingType::Last,
        }
    }
}

/// How to load and run a [`LlamaEmbedder`]: also the fields of the `llama_cpp_embedder`
/// kind beside `model`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LlamaEmbedderOptions {
    /// `mean`, `cls` or `last`; default: the model's `pooling_type` metadata (required when
    /// it has none).
    pub pooling: Option<EmbeddingPooling>,
    /// L2-normalise vectors.
    pub normalize: bool,
    /// Text before each query (e.g. `"query: "` for e5, an instruction for Qwen3-Embedding).
    pub query_prefix: Option<String>,
    /// Text before each document.
    pub document_prefix: Option<String>,
    /// Sizes, threads, GPU layers, hub revision.
    #[serde(flatten, deserialize_with = "ragweave_core::config::flat")]
    pub encoder: EncoderOptions,
    /// The model id stores record; default: the file name without `.gguf`.
    pub model_id: Option<String>,
}

impl Default for LlamaEmbedderOptions {
    fn default() -> Self {
        Self {
            pooling: None,
            normalize: true,
            query_prefix: None,
            document_prefix: None,
            encoder: EncoderOptions::default(),
            model_id: None,
        }
    }
}

/// An embedding model in GGUF on llama.cpp. Many texts share one decode; llama.cpp pools.
///
/// ```no_run
/// use ragweave_core::{EmbedInput, Embedder};
/// use ragweave_llama_cpp::{LlamaEmbedder, LlamaEmbedderOptions};
/// # async fn run() -> ragweave_core::Result<()> {
/// let e = LlamaEmbedder::load("models/all-MiniLM-L6-v2.gguf", LlamaEmbedderOptions::default())?;
/// let v = e.embed_one("a query", EmbedInput::QUERY).await?;
/// assert_eq!(v.len(), e.dimension());
/// # Ok(()) }
/// ```
pub struct LlamaEmbedder {
    model: Arc<LlamaModel>,
    jobs: ContextThread<EncodeJob>,
    options: LlamaEmbedderOptions,
    id: String,
    dimension: usize,
    max_length: usize,
    path: PathBuf,
}

impl LlamaEmbedder {
    /// Loads a GGUF file (a path or `owner/repo/file.gguf` on the hub) and starts its worker.
    pub fn load(
        spec: &str,
        options: LlamaEmbedderOptions,
    ) -> std::result::Result<Self, LlamaCppError> {
        let Loaded {
            model,
            path,
            architecture,
        } = model::load(
            spec,
            options.encoder.revision.as_deref(),
            options.encoder.gpu_layers,
        )?;
        let pooling = match (options.pooling, model_pooling(&model, &architecture)) {
            (Some(p), _) => p.llama(),
            (None, Some(1)) => LlamaPoolingType::Mean,
            (None, Some(2)) => LlamaPoolingType::Cls,
            (None, Some(3)) => LlamaPoolingType::Last,
            (None, found) => {
                return Err(LlamaCppError::WrongKind {
                    path,
                    reason: format!(
                        "the model declares no embedding pooling ({architecture}.pooling_type = {found:?}); \
                         set `pooling` (mean, cls or last) if it is an embedding model"
                    ),
                });
            }
        };
        let (jobs, max_length) = options.encoder.start(&model, pooling, 2)?;
        let id = options
            .model_id
            .clone()
            .unwrap_or_else(|| model::model_name(&path));
        Ok(Self {
            dimension: model.n_embd_out().max(0) as usize,
            model,
            jobs,
            options,
            id,
            max_length,
            path,
        })
    }

    /// The GGUF file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Counts tokens with a GGUF model's vocabulary (special tokens excluded).
struct GgufTokenCounter(Arc<LlamaModel>);

impl TokenCounter for GgufTokenCounter {
    fn count(&self, text: &str) -> usize {
        self.0.vocab().tokenize(text.as_bytes(), false, false).len()
    }
}

#[async_trait]
impl Embedder for LlamaEmbedder {
    fn name(&self) -> &str {
        "llama-cpp"
    }

    fn model_id(&self) -> &str {
        &self.id
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    fn token_counter(&self) -> Option<Arc<dyn TokenCounter>> {
        Some(Arc::new(GgufTokenCounter(Arc::clone(&self.model))))
    }

    fn max_input_tokens(&self) -> Option<usize> {
        let prefix = self.options.document_prefix.as_deref().unwrap_or("");
        let prefix_tokens = GgufTokenCounter(Arc::clone(&self.model)).count(prefix);
        Some(self.max_length.saturating_sub(2 + prefix_tokens).max(1))
    }

    async fn embed(&self, texts: &[String], input: EmbedInput<'_>) -> Result<Vec<Vec<f32>>> {
        let prefix = input.instruction.or(match input.kind {
            InputKind::Query => self.options.query_prefix.as_deref(),
            InputKind::Document => self.options.document_prefix.as_deref(),
        });
        let mut sequences = Vec::with_capacity(texts.len());
        for (i, text) in texts.iter().enumerate() {
            let full = match prefix {
                Some(p) => format!("{p}{text}"),
                None => text.clone(),
            };
            let tokens = (!text.trim().is_empty())
                .then(|| tokens_for(&self.model, &full, self.max_length))
                .flatten()
                .ok_or_else(|| {
                    Error::invalid(
                        format!("texts[{i}]"),
                        "has no text to embed (empty, blank or only control characters)",
                    )
                })?;
            sequences.push(tokens);
        }
        let mut vectors = encoder::run(&self.jobs, sequences).await?;
        if self.options.normalize {
            for v in &mut vectors {
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                if norm > 0.0 {
                    v.iter_mut().for_each(|x| *x /= norm);
                }
            }
        }
        Ok(vectors)
    }
}

impl std::fmt::Debug for LlamaEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlamaEmbedder")
            .field("path", &self.path)
            .field("dimension", &self.dimension)
            .finish()
    }
}
