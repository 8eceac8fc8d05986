//! A BERT cross-encoder (`BertForSequenceClassification`) as a [`Reranker`].

use std::sync::Arc;

use async_trait::async_trait;
use candle_core::{DType, IndexOp, Module, Tensor};
use candle_nn::Linear;
use ragweave_core::{Error, Hit, Query, Reranker, Result, sort_hits};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use tokenizers::EncodeInput;

use crate::bert::linear;
use crate::error::{CandleError, bad_file};
use crate::files::ModelFiles;
use crate::model::{LoadedModel, check_batch_size, off_the_runtime};
use crate::options::EngineOptions;

/// How to load and run a [`CrossEncoder`]: also the fields of the `candle_cross_encoder`
/// kind beside `model`. `Default` is fp32 on the CPU, 16 pairs a pass.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CrossEncoderOptions {
    /// Where and how the model runs.
    #[serde(flatten, deserialize_with = "ragweave_core::config::flat")]
    pub engine: EngineOptions,
    /// Query-passage pairs per forward pass.
    pub batch_size: usize,
}

impl Default for CrossEncoderOptions {
    fn default() -> Self {
        Self {
            engine: EngineOptions::default(),
            batch_size: 16,
        }
    }
}

/// Scores query-passage pairs jointly with a BERT sequence classifier (for example
/// cross-encoder/ms-marco-MiniLM-L-6-v2). The score is the last label's logit for one-label
/// models and its log-probability otherwise.
#[derive(Clone)]
pub struct CrossEncoder {
    inner: Arc<Inner>,
}

struct Inner {
    model: LoadedModel,
    pooler: Linear,
    classifier: Linear,
    labels: usize,
    batch_size: usize,
    name: String,
}

impl CrossEncoder {
    /// Loads a model from a local directory or a hub id.
    pub fn load(model: &str, options: CrossEncoderOptions) -> Result<Self, CandleError> {
        let files = ModelFiles::resolve(model, options.engine.revision.as_deref())?;
        Self::from_files(&files, options)
    }

    /// Loads a model from files already found.
    pub fn from_files(
        files: &ModelFiles,
        options: CrossEncoderOptions,
    ) -> Result<Self, CandleError> {
        check_batch_size(options.batch_size)?;
        let model = LoadedModel::load(
            files,
            options.engine.precision,
            options.engine.device,
            options.engine.max_length,
        )?;
        let labels = label_count(&model.raw_config);
        let h = model.config.hidden_size;
        let weights = &files.weights[0];
        let pooler = linear(h, h, model.vb.pp("pooler").pp("dense"))
            .map_err(|e| bad_file(weights, format!("no pooler for a sequence classifier: {e}")))?;
        // The head sits beside the encoder, not under its `bert.` prefix.
        let root = model.vb.root();
        let classifier = linear(h, labels, root.pp("classifier")).map_err(|e| {
            bad_file(
                weights,
                format!("no `classifier` head with {labels} labels: {e}; is this a cross-encoder?"),
            )
        })?;
        Ok(Self {
            inner: Arc::new(Inner {
                model,
                pooler,
                classifier,
                labels,
                batch_size: options.batch_size,
                name: files.name.clone(),
            }),
        })
    }

    /// Raw logits `[pair][label]` for `query` against each passage, in order.
    pub fn logits(&self, query: &str, passages: &[&str]) -> Result<Vec<Vec<f32>>> {
        self.inner.logits(query, passages)
    }

    /// One relevance score per passage, in order; higher is more relevant.
    pub fn scores(&self, query: &str, passages: &[&str]) -> Result<Vec<f32>> {
        let logits = self.inner.logits(query, passages)?;
        Ok(logits.iter().map(|l| score(l)).collect())
    }

    /// Number of output labels of the classifier head.
    pub fn labels(&self) -> usize {
        self.inner.labels
    }
}

fn label_count(config: &Value) -> usize {
    if let Some(n) = config.get("num_labels").and_then(Value::as_u64) {
        return n as usize;
    }
    match config.get("id2label").and_then(Value::as_object) {
        Some(m) if !m.is_empty() => m.len(),
        // transformers' default for a classifier config without labels.
        _ => 2,
    }
}

fn score(logits: &[f32]) -> f32 {
    match logits {
        [one] => *one,
        _ => {
            let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let lse = max + logits.iter().map(|l| (l - max).exp()).sum::<f32>().ln();
            logits[logits.len() - 1] - lse
        }
    }
}

impl Inner {
    fn logits(&self, query: &str, passages: &[&str]) -> Result<Vec<Vec<f32>>> {
        if query.trim().is_empty() {
            return Err(Error::invalid("query.text", "is empty"));
        }
        if passages.is_empty() {
            return Ok(Vec::new());
        }
        let pairs: Vec<EncodeInput> = passages
            .iter()
            .map(|p| (query.to_string(), p.to_string()).into())
            .collect();
        let encodings = self
            .model
            .tokenizer
            .encode_batch(pairs, true)
            .map_err(|e| Error::component(&self.name, format!("tokenizer: {e}")))?;
        self.model
            .in_batches(&encodings, self.batch_size, |states, _mask| {
                let cls = states.i((.., 0, ..))?;
                let pooled = self.pooler.forward(&cls)?.tanh()?;
                let logits: Tensor = self.classifier.forward(&pooled)?;
                logits.to_dtype(DType::F32)?.to_vec2::<f32>()
            })
    }
}

#[async_trait]
impl Reranker for CrossEncoder {
    fn name(&self) -> &str {
        "candle-cross-encoder"
    }

    async fn rerank(&self, query: &Query, mut hits: Vec<Hit>) -> Result<Vec<Hit>> {
        if hits.is_empty() {
            return Ok(hits);
        }
        let inner = self.inner.clone();
        let text = query.text.clone();
        let passages: Vec<String> = hits.iter().map(|h| h.chunk.text.clone()).collect();
        let work = move || {
            let refs: Vec<&str> = passages.iter().map(String::as_str).collect();
            inner.logits(&text, &refs)
        };
        let logits = off_the_runtime(&self.inner.name, work).await?;
        for (hit, l) in hits.iter_mut().zip(&logits) {
            hit.score = score(l);
        }
        sort_hits(&mut hits);
        Ok(hits)
    }
}
