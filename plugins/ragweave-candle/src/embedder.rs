//! Sentence embeddings from a BERT-family model.

use std::sync::Arc;

use async_trait::async_trait;
use candle_core::DType;
use ragweave_core::{EmbedInput, Embedder, Error, InputKind, Result, TokenCounter};
use schemars::JsonSchema;
use serde::Deserialize;
use tokenizers::{Encoding, Tokenizer};

use crate::bert::l2_normalize;
use crate::error::CandleError;
use crate::files::ModelFiles;
use crate::model::{LoadedModel, check_batch_size, off_the_runtime};
use crate::options::EngineOptions;
use crate::pooling::Pooling;
use crate::prompts::Prompts;

/// How to load and run a [`CandleEmbedder`]: also the fields of the `candle` kind beside
/// `model`. `Default` is fp32 on the CPU with the model's own pooling, prompts and length
/// limit.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CandleEmbedderOptions {
    /// Where and how the model runs.
    #[serde(flatten, deserialize_with = "ragweave_core::config::flat")]
    pub engine: EngineOptions,
    /// Texts per forward pass; each batch is padded to its longest text.
    pub batch_size: usize,
    /// `mean`, `cls` or `max`; default: the model's pooling config.
    pub pooling: Option<Pooling>,
    /// Prefix before queries; default: the model's own query prompt, from its
    /// sentence-transformers config.
    pub query_prefix: Option<String>,
    /// Prefix before documents; default: the model's prompt.
    pub document_prefix: Option<String>,
    /// L2-normalise vectors (for cosine search).
    pub normalize: bool,
    /// The model id stores record for these vectors; default: the model's name.
    pub model_id: Option<String>,
}

impl Default for CandleEmbedderOptions {
    fn default() -> Self {
        Self {
            engine: EngineOptions::default(),
            batch_size: 32,
            pooling: None,
            query_prefix: None,
            document_prefix: None,
            normalize: true,
            model_id: None,
        }
    }
}

/// A BERT-family sentence embedder (all-MiniLM-L6-v2, bge, e5, gte) running on candle.
///
/// ```no_run
/// use ragweave_candle::{CandleEmbedder, CandleEmbedderOptions};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let embedder = CandleEmbedder::load("models/all-MiniLM-L6-v2", CandleEmbedderOptions::default())?;
/// let vectors = embedder.embed_blocking(&["hello".to_string()], ragweave_core::EmbedInput::QUERY)?;
/// assert_eq!(vectors[0].len(), 384);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct CandleEmbedder {
    inner: Arc<Inner>,
}

struct Inner {
    model: LoadedModel,
    pooling: Pooling,
    prompts: Prompts,
    normalize: bool,
    batch_size: usize,
    model_id: String,
    counter: Arc<ModelTokenCounter>,
}

impl CandleEmbedder {
    /// Loads a model from a local directory or a hub id (downloaded once into the hub cache).
    pub fn load(model: &str, options: CandleEmbedderOptions) -> Result<Self, CandleError> {
        let files = ModelFiles::resolve(model, options.engine.revision.as_deref())?;
        Self::from_files(&files, options)
    }

    /// Loads a model from files already found.
    pub fn from_files(
        files: &ModelFiles,
        options: CandleEmbedderOptions,
    ) -> Result<Self, CandleError> {
        check_batch_size(options.batch_size)?;
        let model = LoadedModel::load(
            files,
            options.engine.precision,
            options.engine.device,
            options.engine.max_length,
        )?;
        let pooling = match options.pooling {
            Some(p) => p,
            None => Pooling::of_model(files)?,
        };
        let defaults = Prompts::of_model(files);
        let prompts = Prompts {
            query: options.query_prefix.unwrap_or(defaults.query),
            document: options.document_prefix.unwrap_or(defaults.document),
        };
        let mut counting = model.tokenizer.clone();
        counting
            .with_truncation(None)
            .map_err(|e| crate::error::bad_file(&files.tokenizer, e))?;
        let model_id = options.model_id.unwrap_or_else(|| {
            // The last segment, so a hub id and a local copy of it name the same vectors.
            files
                .name
                .rsplit('/')
                .next()
                .unwrap_or(&files.name)
                .to_string()
        });
        Ok(Self {
            inner: Arc::new(Inner {
                model,
                pooling,
                prompts,
                normalize: options.normalize,
                batch_size: options.batch_size,
                model_id,
                counter: Arc::new(ModelTokenCounter {
                    tokenizer: counting,
                }),
            }),
        })
    }

    /// The pooling in use.
    pub fn pooling(&self) -> Pooling {
        self.inner.pooling
    }

    /// Inputs are truncated to this many tokens, special tokens included.
    pub fn max_length(&self) -> usize {
        self.inner.model.max_len
    }

    /// The prefix put before texts of `kind`.
    pub fn prefix(&self, kind: InputKind) -> &str {
        self.inner.prompts.for_kind(kind)
    }

    /// Embeds on the calling thread: for benchmarks and non-async callers.
    /// [`Embedder::embed`] runs this on tokio's blocking pool.
    pub fn embed_blocking(&self, texts: &[String], input: EmbedInput<'_>) -> Result<Vec<Vec<f32>>> {
        self.inner.embed(texts, input.kind, input.instruction)
    }
}

impl Inner {
    fn embed(
        &self,
        texts: &[String],
        kind: InputKind,
        instruction: Option<&str>,
    ) -> Result<Vec<Vec<f32>>> {
        if let Some(i) = texts.iter().position(|t| t.trim().is_empty()) {
            return Err(Error::invalid(
                format!("texts[{i}]"),
                "is empty or whitespace only; there is nothing to embed",
            ));
        }
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let prefix = instruction.unwrap_or(self.prompts.for_kind(kind));
        let tokenizer = &self.model.tokenizer;
        let inputs: Vec<String> = texts.iter().map(|t| format!("{prefix}{t}")).collect();
        let encodings = tokenizer
            .encode_batch(inputs, true)
            .map_err(|e| Error::component(&self.model_id, format!("tokenizer: {e}")))?;
        let prefix_tokens = content_tokens(
            &tokenizer
                .encode(prefix, false)
                .map_err(|e| Error::component(&self.model_id, format!("tokenizer: {e}")))?,
        );
        if let Some(i) = encodings
            .iter()
            .position(|e| content_tokens(e) <= prefix_tokens)
        {
            return Err(Error::invalid(
                format!("texts[{i}]"),
                format!(
                    "tokenizes to nothing the model reads ({:?} has no tokens besides special ones)",
                    truncate(&texts[i], 40)
                ),
            ));
        }
        self.model
            .in_batches(&encodings, self.batch_size, |states, mask| {
                let mut pooled = self.pooling.apply(&states.to_dtype(DType::F32)?, mask)?;
                if self.normalize {
                    pooled = l2_normalize(&pooled)?;
                }
                pooled.to_vec2::<f32>()
            })
    }
}

fn content_tokens(e: &Encoding) -> usize {
    e.get_special_tokens_mask()
        .iter()
        .filter(|&&s| s == 0)
        .count()
}

fn truncate(s: &str, chars: usize) -> String {
    s.chars().take(chars).collect()
}

#[async_trait]
impl Embedder for CandleEmbedder {
    fn name(&self) -> &str {
        "candle"
    }

    fn model_id(&self) -> &str {
        &self.inner.model_id
    }

    fn dimension(&self) -> usize {
        self.inner.model.config.hidden_size
    }

    fn token_counter(&self) -> Option<Arc<dyn TokenCounter>> {
        Some(self.inner.counter.clone())
    }

    fn max_input_tokens(&self) -> Option<usize> {
        // [CLS] and [SEP] take two positions, and the document prefix its own.
        let prefix = self.inner.counter.count(&self.inner.prompts.document);
        Some(self.inner.model.max_len.saturating_sub(2 + prefix))
    }

    async fn embed(&self, texts: &[String], input: EmbedInput<'_>) -> Result<Vec<Vec<f32>>> {
        let inner = self.inner.clone();
        let texts = texts.to_vec();
        let kind = input.kind;
        let instruction = input.instruction.map(str::to_string);
        off_the_runtime(&self.inner.model_id, move || {
            inner.embed(&texts, kind, instruction.as_deref())
        })
        .await
    }
}

/// Counts tokens with the model's own tokenizer, without truncation, special tokens excluded.
pub struct ModelTokenCounter {
    tokenizer: Tokenizer,
}

impl TokenCounter for ModelTokenCounter {
    fn count(&self, text: &str) -> usize {
        match self.tokenizer.encode_fast(text, false) {
            Ok(e) => e.len(),
            // Never fails for text the tokenizer's normaliser accepts; estimate if it does.
            Err(_) => text.len().div_ceil(4),
        }
    }
}
