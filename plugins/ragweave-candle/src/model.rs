//! Loading what the embedder and the cross-encoder share: config checks, tokenizer, weights.

use std::path::Path;

use candle_core::{Device, Tensor};
use candle_nn::VarBuilder;
use serde_json::Value;
use tokenizers::{Encoding, Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use crate::bert::{ACTIVATIONS, Bert, BertConfig, batch_tensors, encoder_prefix};
use crate::error::{CandleError, bad_file};
use crate::files::{ModelFiles, read_json};
use crate::options::{Accelerator, Precision};

const SUPPORTED: &str = "BERT-family encoders (`model_type` \"bert\": MiniLM, bge, e5, gte)";

/// A loaded BERT encoder with its tokenizer.
pub(crate) struct LoadedModel {
    pub bert: Bert,
    pub config: BertConfig,
    /// The raw `config.json`, for fields only one user reads (`num_labels`).
    pub raw_config: Value,
    /// Weights, pointed at the encoder's prefix; the cross-encoder reads its head from here.
    pub vb: VarBuilder<'static>,
    /// Truncates to `max_len`; pads nothing (batches pad themselves).
    pub tokenizer: Tokenizer,
    pub max_len: usize,
    pub pad_id: u32,
    pub device: Device,
}

impl LoadedModel {
    pub fn load(
        files: &ModelFiles,
        precision: Precision,
        accelerator: Accelerator,
        max_length: Option<usize>,
    ) -> Result<Self, CandleError> {
        let raw_config: Value = read_json(&files.config)?;
        check_architecture(&files.config, &raw_config)?;
        let config: BertConfig =
            serde_json::from_value(raw_config.clone()).map_err(|e| bad_file(&files.config, e))?;

        let mut tokenizer =
            Tokenizer::from_file(&files.tokenizer).map_err(|e| bad_file(&files.tokenizer, e))?;
        let tokenizer_vocab = tokenizer.get_vocab_size(true);
        if tokenizer_vocab > config.vocab_size {
            return Err(CandleError::TokenizerMismatch {
                path: files.tokenizer.clone(),
                tokenizer_vocab,
                model_vocab: config.vocab_size,
            });
        }
        let max_len = max_length_of(files, &config, max_length)?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_len,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                direction: TruncationDirection::Right,
            }))
            .map_err(|e| bad_file(&files.tokenizer, e))?;
        tokenizer.with_padding(None);
        let pad_id = tokenizer
            .get_vocab(true)
            .get("[PAD]")
            .copied()
            .unwrap_or(config.pad_token_id);

        let device = accelerator.device()?;
        if device.is_cpu() && precision == Precision::Bf16 {
            return Err(CandleError::Option {
                option: "precision",
                reason: "candle 0.10 has no bf16 matrix multiply on the CPU; use f16 (the fast \
                         low-precision CPU option) or f32, and bf16 on a GPU"
                    .into(),
            });
        }
        // SAFETY: the files are memory-mapped read-only; like every safetensors loader, this
        // assumes nobody truncates them while the model is alive.
        let root = unsafe {
            VarBuilder::from_mmaped_safetensors(&files.weights, precision.dtype(), &device)?
        };
        let prefix = encoder_prefix(&root).ok_or_else(|| {
            bad_file(
                &files.weights[0],
                "no BERT embeddings in the weights (looked for `embeddings.word_embeddings.weight`, \
                 with and without a `bert.` prefix)",
            )
        })?;
        let vb = if prefix.is_empty() {
            root
        } else {
            root.pp(prefix)
        };
        // A shape mismatch here means config.json and the weights disagree.
        let bert = Bert::load(vb.clone(), &config).map_err(|e| bad_file(&files.weights[0], e))?;
        Ok(Self {
            bert,
            config,
            raw_config,
            vb,
            tokenizer,
            max_len,
            pad_id,
            device,
        })
    }
}

fn check_architecture(path: &Path, config: &Value) -> Result<(), CandleError> {
    let model_type = config.get("model_type").and_then(Value::as_str);
    let architectures: Vec<&str> = config
        .get("architectures")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let is_bert = match model_type {
        Some(t) => t == "bert",
        None => architectures.iter().any(|a| a.starts_with("Bert")),
    };
    let unsupported = |found: String| CandleError::UnsupportedArchitecture {
        path: path.to_path_buf(),
        found,
        supported: SUPPORTED,
    };
    if !is_bert {
        let found = model_type
            .map(str::to_string)
            .unwrap_or_else(|| architectures.join(", "));
        return Err(unsupported(if found.is_empty() {
            "unnamed".into()
        } else {
            found
        }));
    }
    if let Some(p) = config
        .get("position_embedding_type")
        .and_then(Value::as_str)
        && p != "absolute"
    {
        return Err(unsupported(format!("bert with {p} position embeddings")));
    }
    if let Some(act) = config.get("hidden_act").and_then(Value::as_str)
        && !ACTIVATIONS.contains(&act)
    {
        return Err(unsupported(format!("bert with the {act} activation")));
    }
    Ok(())
}

/// The longest input in tokens: the option, else sentence-transformers' `max_seq_length`,
/// else the tokenizer's `model_max_length`, never past the position table.
fn max_length_of(
    files: &ModelFiles,
    config: &BertConfig,
    asked: Option<usize>,
) -> Result<usize, CandleError> {
    let table = config.max_position_embeddings;
    if let Some(n) = asked {
        if n < 3 || n > table {
            return Err(CandleError::Option {
                option: "max_length",
                reason: format!("{n} is outside 3..={table} (the model's position table)"),
            });
        }
        return Ok(n);
    }
    let from = |file: &str, key: &str| -> Option<usize> {
        let path = files.optional(file)?;
        let v: Value = read_json(&path).ok()?;
        v.get(key)?.as_u64().map(|n| n as usize)
    };
    Ok(from("sentence_bert_config.json", "max_seq_length")
        .or_else(|| from("tokenizer_config.json", "model_max_length"))
        .unwrap_or(table)
        .min(table))
}

impl LoadedModel {
    /// Runs `per_batch` over `encodings` longest first, `batch_size` at a time, and returns
    /// its rows in input order. Sorting is what sentence-transformers does: batches of similar
    /// lengths pad least.
    pub fn in_batches(
        &self,
        encodings: &[Encoding],
        batch_size: usize,
        per_batch: impl Fn(&Tensor, &Tensor) -> candle_core::Result<Vec<Vec<f32>>>,
    ) -> ragweave_core::Result<Vec<Vec<f32>>> {
        let mut order: Vec<usize> = (0..encodings.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(encodings[i].len()));
        let mut out = vec![Vec::new(); encodings.len()];
        for batch in order.chunks(batch_size) {
            let rows = self
                .states(batch.iter().map(|&i| &encodings[i]))
                .and_then(|(states, mask)| per_batch(&states, &mask))
                .map_err(|e| ragweave_core::Error::from(CandleError::Engine(e)))?;
            for (&i, row) in batch.iter().zip(rows) {
                out[i] = row;
            }
        }
        Ok(out)
    }

    /// Hidden states `(batch, seq, hidden)` of a padded batch, and its 0/1 mask.
    fn states<'a>(
        &self,
        encodings: impl Iterator<Item = &'a Encoding>,
    ) -> candle_core::Result<(Tensor, Tensor)> {
        let rows: Vec<(&[u32], &[u32])> =
            encodings.map(|e| (e.get_ids(), e.get_type_ids())).collect();
        let (ids, types, mask) = batch_tensors(&rows, self.pad_id, &self.device)?;
        let lengths: Vec<usize> = rows.iter().map(|(ids, _)| ids.len()).collect();
        let states = self.bert.forward(&ids, &types, &mask, &lengths)?;
        Ok((states, mask))
    }
}

/// Refuses a batch size of zero.
pub(crate) fn check_batch_size(n: usize) -> Result<(), CandleError> {
    if n == 0 {
        return Err(CandleError::Option {
            option: "batch_size",
            reason: "must be at least 1".into(),
        });
    }
    Ok(())
}

/// Runs model work on tokio's blocking pool when called from a runtime (a forward pass is
/// seconds of CPU that would stall the async workers), inline otherwise.
pub(crate) async fn off_the_runtime<T: Send + 'static>(
    component: &str,
    work: impl FnOnce() -> ragweave_core::Result<T> + Send + 'static,
) -> ragweave_core::Result<T> {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle.spawn_blocking(work).await.map_err(|e| {
            ragweave_core::Error::component(component, format!("model task failed: {e}"))
        })?,
        Err(_) => work(),
    }
}
