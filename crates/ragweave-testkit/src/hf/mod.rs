//! Writes tiny Hugging Face-format checkpoints (`config.json`, `model.safetensors`,
//! `tokenizer.json`), for engines that load models the way the hub ships them rather than
//! as GGUF: a random-weight Qwen3 causal LM, and the same network as a Qwen3-Embedding-style
//! sentence-transformers model (last-token pooling, normalised).
//!
//! ```no_run
//! use ragweave_testkit::hf::Qwen3Spec;
//! let dir = std::env::temp_dir().join("tiny-qwen3");
//! Qwen3Spec::tiny().write_causal_lm(&dir).unwrap();
//! ```

mod safetensors;
mod tokenizer;

use std::io;
use std::path::Path;

use serde_json::json;

use crate::gguf::CHATML_TEMPLATE;
use safetensors::F32Tensor;
pub(crate) use tokenizer::byte_char;
pub use tokenizer::{END_OF_TEXT, IM_END, IM_START, VOCAB_SIZE};

/// The shape of a random-weight Qwen3 network over the byte-level vocabulary
/// ([`VOCAB_SIZE`] tokens: 256 bytes, `<|endoftext|>`, `<|im_start|>`, `<|im_end|>`).
#[derive(Debug, Clone, PartialEq)]
pub struct Qwen3Spec {
    /// Hidden width.
    pub hidden_size: usize,
    /// Transformer blocks.
    pub layers: usize,
    /// Attention heads.
    pub heads: usize,
    /// Key/value heads.
    pub kv_heads: usize,
    /// Width of one head.
    pub head_dim: usize,
    /// Feed-forward width.
    pub intermediate_size: usize,
    /// Longest sequence the model accepts.
    pub max_position_embeddings: usize,
    /// Weight seed.
    pub seed: u64,
}

impl Qwen3Spec {
    /// 2 layers, width 64, 4 heads over 2 KV heads: loads and runs in milliseconds.
    pub fn tiny() -> Self {
        Self {
            hidden_size: 64,
            layers: 2,
            heads: 4,
            kv_heads: 2,
            head_dim: 16,
            intermediate_size: 128,
            max_position_embeddings: 512,
            seed: 11,
        }
    }

    fn config(&self, architecture: &str) -> serde_json::Value {
        json!({
            "architectures": [architecture],
            "model_type": "qwen3",
            "vocab_size": VOCAB_SIZE,
            "hidden_size": self.hidden_size,
            "intermediate_size": self.intermediate_size,
            "num_hidden_layers": self.layers,
            "num_attention_heads": self.heads,
            "num_key_value_heads": self.kv_heads,
            "head_dim": self.head_dim,
            "hidden_act": "silu",
            "max_position_embeddings": self.max_position_embeddings,
            "rms_norm_eps": 1e-6,
            "rope_theta": 10000.0,
            "sliding_window": null,
            "use_sliding_window": false,
            "max_window_layers": self.layers,
            "tie_word_embeddings": false,
            "attention_bias": false,
            "torch_dtype": "float32",
            "bos_token_id": END_OF_TEXT,
            "eos_token_id": IM_END,
        })
    }

    /// The transformer's tensors, names prefixed by `prefix` (`model.` in a causal LM).
    fn body(&self, prefix: &str) -> Vec<F32Tensor> {
        let (h, seed) = (self.hidden_size, self.seed);
        let q = self.heads * self.head_dim;
        let kv = self.kv_heads * self.head_dim;
        let mut t = vec![F32Tensor::random(
            format!("{prefix}embed_tokens.weight"),
            &[VOCAB_SIZE, h],
            seed,
            0.5,
        )];
        for i in 0..self.layers {
            let n = |s: &str| format!("{prefix}layers.{i}.{s}");
            for (name, shape) in [
                ("self_attn.q_proj.weight", [q, h]),
                ("self_attn.k_proj.weight", [kv, h]),
                ("self_attn.v_proj.weight", [kv, h]),
                ("self_attn.o_proj.weight", [h, q]),
                ("mlp.gate_proj.weight", [self.intermediate_size, h]),
                ("mlp.up_proj.weight", [self.intermediate_size, h]),
                ("mlp.down_proj.weight", [h, self.intermediate_size]),
            ] {
                t.push(F32Tensor::random(n(name), &shape, seed, 0.2));
            }
            t.push(F32Tensor::fill(
                n("self_attn.q_norm.weight"),
                &[self.head_dim],
                1.0,
            ));
            t.push(F32Tensor::fill(
                n("self_attn.k_norm.weight"),
                &[self.head_dim],
                1.0,
            ));
            t.push(F32Tensor::fill(n("input_layernorm.weight"), &[h], 1.0));
            t.push(F32Tensor::fill(
                n("post_attention_layernorm.weight"),
                &[h],
                1.0,
            ));
        }
        t.push(F32Tensor::fill(format!("{prefix}norm.weight"), &[h], 1.0));
        t
    }

    fn write_tokenizer(dir: &Path) -> io::Result<()> {
        write_json(&dir.join("tokenizer.json"), &tokenizer::tokenizer_json())
    }

    /// Writes a `Qwen3ForCausalLM` checkpoint with a ChatML chat template into `dir`.
    pub fn write_causal_lm(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)?;
        write_json(&dir.join("config.json"), &self.config("Qwen3ForCausalLM"))?;
        let mut tensors = self.body("model.");
        tensors.push(F32Tensor::random(
            "lm_head.weight".into(),
            &[VOCAB_SIZE, self.hidden_size],
            self.seed,
            0.5,
        ));
        safetensors::write(&dir.join("model.safetensors"), &tensors)?;
        Self::write_tokenizer(dir)?;
        write_json(
            &dir.join("tokenizer_config.json"),
            &json!({
                "chat_template": CHATML_TEMPLATE,
                "bos_token": null,
                "eos_token": "<|im_end|>",
                "pad_token": "<|endoftext|>",
                "model_max_length": self.max_position_embeddings,
            }),
        )?;
        write_json(
            &dir.join("generation_config.json"),
            &json!({ "eos_token_id": [IM_END, END_OF_TEXT] }),
        )
    }

    /// Writes the network as a sentence-transformers embedding model the way
    /// Qwen3-Embedding ships (`Qwen3ForCausalLM` body without `model.` prefix or LM head,
    /// last-token pooling, then normalisation) into `dir`.
    pub fn write_embedding(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir.join("1_Pooling"))?;
        write_json(&dir.join("config.json"), &self.config("Qwen3ForCausalLM"))?;
        safetensors::write(&dir.join("model.safetensors"), &self.body(""))?;
        Self::write_tokenizer(dir)?;
        write_json(
            &dir.join("modules.json"),
            &json!([
                {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
            ]),
        )?;
        write_json(
            &dir.join("1_Pooling/config.json"),
            &json!({
                "word_embedding_dimension": self.hidden_size,
                "pooling_mode_cls_token": false,
                "pooling_mode_mean_tokens": false,
                "pooling_mode_max_tokens": false,
                "pooling_mode_mean_sqrt_len_tokens": false,
                "pooling_mode_weightedmean_tokens": false,
                "pooling_mode_lasttoken": true,
                "include_prompt": true,
            }),
        )?;
        write_json(
            &dir.join("config_sentence_transformers.json"),
            &json!({
                "prompts": {
                    "query": "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery:",
                    "document": "",
                },
                "default_prompt_name": null,
                "similarity_fn_name": "cosine",
            }),
        )
    }
}

fn write_json(path: &Path, value: &serde_json::Value) -> io::Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
    std::fs::write(path, text)
}
