//! The thread that owns an embedding context, shared by the embedder and the reranker.
//!
//! Sequences are packed into batches (up to `batch_tokens` tokens and `max_sequences`
//! sequences each) and decoded together; llama.cpp pools each sequence's states (mean, CLS,
//! last, or rank for rerankers) and this returns one output per sequence, in order.
//!
//! A batch is one attention block: llama.cpp computes every token against every other token
//! of the batch and masks across sequences, so attention costs grow with the square of the
//! batch's tokens. Batches about one longest input long are fastest (measured on MiniLM with
//! SciFact documents: 16.4 docs/s at 256 tokens, 13.1 at 512, 8.7 at 1,024, 2.7 at 4,096).

use std::num::NonZeroU32;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;
use std::sync::mpsc::Receiver;

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::{LlamaContextParams, LlamaPoolingType};
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;
use tokio::sync::oneshot;

use crate::backend::with_logged_errors;
use crate::context_thread::ContextThread;
use crate::error::LlamaCppError;

type Reply = oneshot::Sender<Result<Vec<Vec<f32>>, LlamaCppError>>;

/// Sequences to pool, and where the outputs go.
pub(crate) struct EncodeJob {
    pub sequences: Vec<Vec<LlamaToken>>,
    pub reply: Reply,
}

/// How to run an encoder model (an embedder or a reranker): its sizes and where it runs;
/// also the fields of the `llama_cpp_reranker` kind, and of `llama_cpp_embedder`, beside
/// `model`.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EncoderOptions {
    /// Longest input in tokens (a reranker's query and passage together), special tokens
    /// included; default: the model's training context.
    pub max_length: Option<u32>,
    /// Most tokens decoded in one batch; default: `max_length`. Attention spans the whole
    /// batch, so batches much longer than one input cost more than they save.
    pub batch_tokens: Option<u32>,
    /// Most sequences (texts, or query-passage pairs) in one batch.
    pub max_sequences: u32,
    /// Flash attention: about 18% faster on the CPU (MiniLM), but outputs then move by about
    /// 1e-3 with what else shares their batch. Off: each output is its own.
    pub flash_attention: bool,
    /// CPU threads; default: every core.
    pub threads: Option<u32>,
    /// Layers offloaded to the GPU (needs the `cuda` feature).
    pub gpu_layers: u32,
    /// Hub revision for hub files.
    pub revision: Option<String>,
}

impl Default for EncoderOptions {
    fn default() -> Self {
        Self {
            max_length: None,
            batch_tokens: None,
            max_sequences: 64,
            flash_attention: false,
            threads: None,
            gpu_layers: 0,
            revision: None,
        }
    }
}

impl EncoderOptions {
    /// Starts the encoder thread for `model` (inputs at least `min_length` tokens long);
    /// returns its queue and the longest input it takes.
    pub(crate) fn start(
        &self,
        model: &Arc<LlamaModel>,
        pooling: LlamaPoolingType,
        min_length: u32,
    ) -> Result<(ContextThread<EncodeJob>, usize), LlamaCppError> {
        let max_length = self
            .max_length
            .unwrap_or(model.n_ctx_train())
            .max(min_length);
        let shape = EncoderShape {
            batch_tokens: self.batch_tokens.unwrap_or(max_length).max(max_length),
            max_sequences: self.max_sequences.max(1),
            threads: crate::model::threads(self.threads),
            pooling,
            flash_attention: self.flash_attention,
        };
        Ok((spawn(Arc::clone(model), shape)?, max_length as usize))
    }
}

/// Context sizes of an encoder.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EncoderShape {
    pub batch_tokens: u32,
    pub max_sequences: u32,
    pub threads: i32,
    pub pooling: LlamaPoolingType,
    /// Flash attention keeps K and V in f16 on the CPU, so an output then moves (about 1e-3)
    /// with what else shares its batch; exact attention keeps each text's output its own.
    pub flash_attention: bool,
}

/// Starts the worker; returns once its context exists.
pub(crate) fn spawn(
    model: Arc<LlamaModel>,
    shape: EncoderShape,
) -> Result<ContextThread<EncodeJob>, LlamaCppError> {
    let params = move || {
        LlamaContextParams::default()
            .with_embeddings(true)
            .with_pooling_type(shape.pooling)
            .with_flash_attention_policy(if shape.flash_attention {
                llama_cpp_sys_2::LLAMA_FLASH_ATTN_TYPE_ENABLED
            } else {
                llama_cpp_sys_2::LLAMA_FLASH_ATTN_TYPE_DISABLED
            })
            .with_n_ctx(NonZeroU32::new(shape.batch_tokens))
            .with_n_batch(shape.batch_tokens)
            .with_n_ubatch(shape.batch_tokens)
            .with_n_seq_max(shape.max_sequences)
            .with_n_threads(shape.threads)
            .with_n_threads_batch(shape.threads)
    };
    ContextThread::start(
        "encoder",
        model,
        params,
        move |_, mut ctx, queue: Receiver<EncodeJob>| {
            let mut batch = LlamaBatch::new(shape.batch_tokens as usize, 1);
            for job in queue {
                let out = encode_all(&mut ctx, &mut batch, shape, &job.sequences);
                let _ = job.reply.send(out);
            }
        },
    )
}

fn encode_all(
    ctx: &mut LlamaContext<'_>,
    batch: &mut LlamaBatch<'_>,
    shape: EncoderShape,
    sequences: &[Vec<LlamaToken>],
) -> Result<Vec<Vec<f32>>, LlamaCppError> {
    let mut out = Vec::with_capacity(sequences.len());
    let mut start = 0;
    while start < sequences.len() {
        let mut end = start;
        let mut tokens = 0;
        while end < sequences.len()
            && end - start < shape.max_sequences as usize
            && tokens + sequences[end].len() <= shape.batch_tokens as usize
        {
            tokens += sequences[end].len();
            end += 1;
        }
        assert!(end > start, "callers cut sequences to the batch size");
        batch.clear();
        for (seq, tokens) in sequences[start..end].iter().enumerate() {
            for (pos, token) in tokens.iter().enumerate() {
                batch
                    .add(*token, pos as i32, &[seq as i32], true)
                    .expect("counted to fit");
            }
        }
        // Decoder embedders keep a KV cache: each batch starts from an empty one.
        ctx.clear_kv_cache();
        let (decoded, errors) = with_logged_errors(|| ctx.decode(batch));
        decoded.map_err(|e| {
            LlamaCppError::Engine(format!("embedding batch failed: {e} {}", errors.join("; ")))
        })?;
        for seq in 0..(end - start) {
            let pooled = ctx.embeddings_seq_ith(seq as i32).map_err(|e| {
                LlamaCppError::Engine(format!("no pooled output for sequence {seq}: {e}"))
            })?;
            out.push(pooled.to_vec());
        }
        start = end;
    }
    Ok(out)
}

/// Sends a job and waits for its outputs without blocking the async runtime.
pub(crate) async fn run(
    jobs: &ContextThread<EncodeJob>,
    sequences: Vec<Vec<LlamaToken>>,
) -> Result<Vec<Vec<f32>>, LlamaCppError> {
    let (reply, outputs) = oneshot::channel();
    jobs.send(EncodeJob { sequences, reply })?;
    outputs.await.map_err(|_| LlamaCppError::WorkerGone)?
}

/// The model's own pooling (`<arch>.pooling_type` in its metadata), if it declares one.
pub(crate) fn model_pooling(model: &LlamaModel, architecture: &str) -> Option<u32> {
    model
        .meta_val_str(&format!("{architecture}.pooling_type"))
        .ok()
        .and_then(|v| v.trim().parse().ok())
}

/// Tokens of `text` with the model's special tokens, cut to `max` tokens in all (the closing
/// separator kept). `None` when the text has no token of its own.
pub(crate) fn tokens_for(model: &LlamaModel, text: &str, max: usize) -> Option<Vec<LlamaToken>> {
    let vocab = model.vocab();
    let mut body = vocab.tokenize(text.as_bytes(), false, false);
    if body.is_empty() {
        return None;
    }
    let bos = vocab.should_add_bos().then(|| vocab.bos());
    let eos = if vocab.should_add_sep() {
        Some(vocab.sep())
    } else {
        vocab.should_add_eos().then(|| vocab.eos())
    };
    let room = max.saturating_sub(usize::from(bos.is_some()) + usize::from(eos.is_some()));
    body.truncate(room.max(1));
    Some(bos.into_iter().chain(body).chain(eos).collect())
}
