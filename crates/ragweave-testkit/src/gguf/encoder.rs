//! Random-weight BERT encoders (embedding or reranking models) with a tiny WordPiece vocabulary.

use std::io;
use std::path::Path;

use super::{GgufWriter, TensorData, TensorType, TokenKind, Value};

/// How an encoder turns token states into its output; written as `bert.pooling_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// Mean of the token states (sentence-transformers' default).
    Mean = 1,
    /// The `[CLS]` state.
    Cls = 2,
    /// A relevance score: `[CLS]` through a dense + tanh layer and a one-output classifier.
    Rank = 4,
}

/// The shape of a BERT encoder to write. Its vocabulary is `[PAD] [UNK] [CLS] [SEP] [MASK]`
/// and, for each lowercase letter, digit and common punctuation mark, a word-start and a
/// continuation piece, so any ASCII text tokenizes (one piece per character).
#[derive(Debug, Clone, PartialEq)]
pub struct EncoderSpec {
    /// Hidden width.
    pub embedding_length: u64,
    /// Transformer blocks.
    pub block_count: u64,
    /// Attention heads.
    pub head_count: u64,
    /// Feed-forward width.
    pub feed_forward_length: u64,
    /// Position table length (the longest input).
    pub context_length: u32,
    /// Output.
    pub pooling: Pooling,
    /// Weight seed.
    pub seed: u64,
}

const CHARS: &str = "abcdefghijklmnopqrstuvwxyz0123456789.,!?'-:;()";

impl EncoderSpec {
    /// 2 layers, width 32, 4 heads, mean pooling.
    pub fn tiny() -> Self {
        Self {
            embedding_length: 32,
            block_count: 2,
            head_count: 4,
            feed_forward_length: 64,
            context_length: 512,
            pooling: Pooling::Mean,
            seed: 11,
        }
    }

    /// The same encoder with a reranking head.
    pub fn tiny_reranker() -> Self {
        Self {
            pooling: Pooling::Rank,
            seed: 13,
            ..Self::tiny()
        }
    }

    /// The vocabulary as GGUF stores it (word starts carry the `▁` phantom space).
    pub fn vocab() -> Vec<(String, TokenKind)> {
        let mut v: Vec<(String, TokenKind)> = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
            .iter()
            .map(|t| {
                let kind = if *t == "[UNK]" {
                    TokenKind::Unknown
                } else {
                    TokenKind::Control
                };
                (t.to_string(), kind)
            })
            .collect();
        for c in CHARS.chars() {
            v.push((format!("\u{2581}{c}"), TokenKind::Normal));
            v.push((c.to_string(), TokenKind::Normal));
        }
        v
    }

    /// Writes the model to `path`.
    pub fn write(&self, path: &Path) -> io::Result<()> {
        let vocab = Self::vocab();
        let mut w = GgufWriter::new();
        bert_metadata(
            &mut w,
            &BertShape {
                n_embd: self.embedding_length,
                n_layer: self.block_count,
                n_head: self.head_count,
                n_ff: self.feed_forward_length,
                n_ctx: self.context_length,
                eps: 1e-12,
                pooling: self.pooling,
            },
        );
        bert_vocab(&mut w, &vocab, [2, 3, 1, 0, 4]);
        let (n_embd, n_ff) = (self.embedding_length, self.feed_forward_length);
        let seed = self.seed;
        let random = |scale| TensorData::Random { seed, scale };
        let f32 = TensorType::F32;
        w.tensor(
            "token_embd.weight",
            &[n_embd, vocab.len() as u64],
            f32,
            random(0.5),
        );
        w.tensor("token_types.weight", &[n_embd, 2], f32, random(0.1));
        w.tensor(
            "position_embd.weight",
            &[n_embd, u64::from(self.context_length)],
            f32,
            random(0.1),
        );
        w.tensor(
            "token_embd_norm.weight",
            &[n_embd],
            f32,
            TensorData::Fill(1.0),
        );
        w.tensor(
            "token_embd_norm.bias",
            &[n_embd],
            f32,
            TensorData::Fill(0.0),
        );
        for i in 0..self.block_count {
            let b = |n: &str| format!("blk.{i}.{n}");
            for (name, rows, cols) in [
                ("attn_q", n_embd, n_embd),
                ("attn_k", n_embd, n_embd),
                ("attn_v", n_embd, n_embd),
                ("attn_output", n_embd, n_embd),
                ("ffn_up", n_embd, n_ff),
                ("ffn_down", n_ff, n_embd),
            ] {
                w.tensor(
                    &b(&format!("{name}.weight")),
                    &[rows, cols],
                    f32,
                    random(0.3),
                );
                w.tensor(&b(&format!("{name}.bias")), &[cols], f32, random(0.05));
            }
            for norm in ["attn_output_norm", "layer_output_norm"] {
                w.tensor(
                    &b(&format!("{norm}.weight")),
                    &[n_embd],
                    f32,
                    TensorData::Fill(1.0),
                );
                w.tensor(
                    &b(&format!("{norm}.bias")),
                    &[n_embd],
                    f32,
                    TensorData::Fill(0.0),
                );
            }
        }
        if self.pooling == Pooling::Rank {
            w.tensor("cls.weight", &[n_embd, n_embd], f32, random(0.3));
            w.tensor("cls.bias", &[n_embd], f32, random(0.05));
            w.tensor("cls.output.weight", &[n_embd, 1], f32, random(0.5));
            w.tensor("cls.output.bias", &[1], f32, random(0.05));
        }
        w.write(path)
    }
}

/// Hyperparameters of a BERT encoder, as its GGUF metadata needs them.
pub(crate) struct BertShape {
    pub n_embd: u64,
    pub n_layer: u64,
    pub n_head: u64,
    pub n_ff: u64,
    pub n_ctx: u32,
    pub eps: f32,
    pub pooling: Pooling,
}

pub(crate) fn bert_metadata(w: &mut GgufWriter, s: &BertShape) {
    w.kv("general.architecture", "bert")
        .kv("bert.context_length", s.n_ctx)
        .kv("bert.embedding_length", s.n_embd as u32)
        .kv("bert.feed_forward_length", s.n_ff as u32)
        .kv("bert.block_count", s.n_layer as u32)
        .kv("bert.attention.head_count", s.n_head as u32)
        .kv("bert.attention.layer_norm_epsilon", Value::F32(s.eps))
        .kv("bert.attention.causal", Value::Bool(false))
        .kv("bert.pooling_type", s.pooling as u32);
    if s.pooling == Pooling::Rank {
        w.kv(
            "bert.classifier.output_labels",
            Value::StrArray(vec!["score".into()]),
        );
    }
}

/// WordPiece ("bert") tokenizer metadata; `special` is `[cls, sep, unk, pad, mask]` ids.
pub(crate) fn bert_vocab(w: &mut GgufWriter, vocab: &[(String, TokenKind)], special: [u32; 5]) {
    let [cls, sep, unk, pad, mask] = special;
    w.kv("tokenizer.ggml.model", "bert")
        .kv(
            "tokenizer.ggml.tokens",
            Value::StrArray(vocab.iter().map(|(t, _)| t.clone()).collect()),
        )
        .kv(
            "tokenizer.ggml.token_type",
            Value::I32Array(vocab.iter().map(|(_, k)| *k as i32).collect()),
        )
        .kv("tokenizer.ggml.token_type_count", 2u32)
        .kv("tokenizer.ggml.bos_token_id", cls)
        .kv("tokenizer.ggml.cls_token_id", cls)
        .kv("tokenizer.ggml.seperator_token_id", sep)
        .kv("tokenizer.ggml.unknown_token_id", unk)
        .kv("tokenizer.ggml.padding_token_id", pad)
        .kv("tokenizer.ggml.mask_token_id", mask)
        .kv("tokenizer.ggml.normalizer.lowercase", Value::Bool(true));
}
