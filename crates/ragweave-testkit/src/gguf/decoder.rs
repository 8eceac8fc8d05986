//! Random-weight decoder LLMs (llama or qwen2 architecture) with a byte-level vocabulary.

use std::io;
use std::path::Path;

use super::vocabulary::Vocabulary;
use super::{CHATML_TEMPLATE, GgufWriter, TensorData, TensorType, Value};

/// The shape of a decoder to write. Weights are uniform random from `seed`; the tokenizer
/// has one token per byte (see [`Vocabulary`]), so any text tokenizes.
#[derive(Debug, Clone, PartialEq)]
pub struct DecoderSpec {
    /// `llama` or `qwen2` (qwen2 adds biases to the query, key and value projections).
    pub architecture: &'static str,
    /// Vocabulary size; at least the 259 byte-level tokens.
    pub vocab_size: usize,
    /// Hidden width.
    pub embedding_length: u64,
    /// Transformer blocks.
    pub block_count: u64,
    /// Attention heads.
    pub head_count: u64,
    /// Key/value heads (grouped-query attention when fewer than `head_count`).
    pub head_count_kv: u64,
    /// Feed-forward width.
    pub feed_forward_length: u64,
    /// Trained context length.
    pub context_length: u32,
    /// RoPE base frequency.
    pub rope_freq_base: f32,
    /// Whether the output projection is its own tensor (else tied to the token embeddings).
    pub separate_output: bool,
    /// Storage of the matrices (norms are always f32).
    pub tensor_type: TensorType,
    /// `tokenizer.chat_template`, if any.
    pub chat_template: Option<String>,
    /// How the tokenizer is written.
    pub vocabulary: Vocabulary,
    /// Weight seed.
    pub seed: u64,
}

impl DecoderSpec {
    /// 2 layers, width 64, 4 heads, f32: loads and decodes in milliseconds.
    pub fn tiny() -> Self {
        Self {
            architecture: "llama",
            vocab_size: 259,
            embedding_length: 64,
            block_count: 2,
            head_count: 4,
            head_count_kv: 4,
            feed_forward_length: 128,
            context_length: 2048,
            rope_freq_base: 10_000.0,
            separate_output: true,
            tensor_type: TensorType::F32,
            chat_template: Some(CHATML_TEMPLATE.to_string()),
            vocabulary: Vocabulary::SentencePieceBytes,
            seed: 42,
        }
    }

    /// [`DecoderSpec::tiny`] with a GPT-2 byte-level vocabulary, which decodes to text in
    /// mistral.rs as well as llama.cpp.
    pub fn tiny_byte_bpe() -> Self {
        Self {
            vocabulary: Vocabulary::Gpt2Bytes,
            ..Self::tiny()
        }
    }

    /// Qwen2.5-0.5B-Instruct's shape (24 layers, width 896, 14 heads, 2 KV heads, FFN 4864,
    /// 151,936 tokens, tied embeddings), for speed benchmarks: decoding speed does not
    /// depend on the weights' values.
    pub fn qwen2_5_0_5b(tensor_type: TensorType) -> Self {
        Self {
            architecture: "qwen2",
            vocab_size: 151_936,
            embedding_length: 896,
            block_count: 24,
            head_count: 14,
            head_count_kv: 2,
            feed_forward_length: 4864,
            context_length: 32_768,
            rope_freq_base: 1_000_000.0,
            separate_output: false,
            tensor_type,
            chat_template: Some(CHATML_TEMPLATE.to_string()),
            vocabulary: Vocabulary::SentencePieceBytes,
            seed: 7,
        }
    }

    /// Writes the model to `path`.
    pub fn write(&self, path: &Path) -> io::Result<()> {
        assert!(
            self.vocab_size >= 259,
            "the byte-level vocabulary needs 259 tokens"
        );
        let arch = self.architecture;
        let (n_embd, n_ff, n_vocab) = (
            self.embedding_length,
            self.feed_forward_length,
            self.vocab_size as u64,
        );
        let n_embd_kv = n_embd / self.head_count * self.head_count_kv;
        let mut w = GgufWriter::new();
        w.kv("general.architecture", arch)
            .kv("general.name", "ragweave-testkit random decoder")
            .kv(&format!("{arch}.context_length"), self.context_length)
            .kv(&format!("{arch}.embedding_length"), n_embd as u32)
            .kv(&format!("{arch}.block_count"), self.block_count as u32)
            .kv(&format!("{arch}.feed_forward_length"), n_ff as u32)
            .kv(
                &format!("{arch}.attention.head_count"),
                self.head_count as u32,
            )
            .kv(
                &format!("{arch}.attention.head_count_kv"),
                self.head_count_kv as u32,
            )
            .kv(
                &format!("{arch}.attention.layer_norm_rms_epsilon"),
                Value::F32(1e-6),
            )
            .kv(
                &format!("{arch}.rope.freq_base"),
                Value::F32(self.rope_freq_base),
            )
            // Real converters write it; mistral.rs requires it of llama models.
            .kv(
                &format!("{arch}.rope.dimension_count"),
                (n_embd / self.head_count) as u32,
            );
        self.vocabulary.write(&mut w, self.vocab_size);
        if let Some(t) = &self.chat_template {
            w.kv("tokenizer.chat_template", t.as_str());
        }
        let ty = self.tensor_type;
        let seed = self.seed;
        let random = |scale| TensorData::Random { seed, scale };
        w.tensor("token_embd.weight", &[n_embd, n_vocab], ty, random(0.5));
        w.tensor(
            "output_norm.weight",
            &[n_embd],
            TensorType::F32,
            TensorData::Fill(1.0),
        );
        if self.separate_output {
            w.tensor("output.weight", &[n_embd, n_vocab], ty, random(0.5));
        }
        let norm = TensorData::Fill(1.0);
        for i in 0..self.block_count {
            let b = |n: &str| format!("blk.{i}.{n}");
            w.tensor(
                &b("attn_norm.weight"),
                &[n_embd],
                TensorType::F32,
                norm.clone(),
            );
            w.tensor(
                &b("ffn_norm.weight"),
                &[n_embd],
                TensorType::F32,
                norm.clone(),
            );
            for (name, rows, cols) in [
                ("attn_q", n_embd, n_embd),
                ("attn_k", n_embd, n_embd_kv),
                ("attn_v", n_embd, n_embd_kv),
                ("attn_output", n_embd, n_embd),
                ("ffn_gate", n_embd, n_ff),
                ("ffn_up", n_embd, n_ff),
                ("ffn_down", n_ff, n_embd),
            ] {
                w.tensor(
                    &b(&format!("{name}.weight")),
                    &[rows, cols],
                    ty,
                    random(0.2),
                );
                let projection = matches!(name, "attn_q" | "attn_k" | "attn_v");
                if arch == "qwen2" && projection {
                    w.tensor(
                        &b(&format!("{name}.bias")),
                        &[cols],
                        TensorType::F32,
                        random(0.1),
                    );
                }
            }
        }
        w.write(path)
    }
}
