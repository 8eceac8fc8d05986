//! The test decoders' byte-level vocabularies, in the two tokenizer styles GGUF files use.

use super::{GgufWriter, TokenKind, Value, byte_vocab};
use crate::hf::byte_char;

/// How a test decoder's vocabulary is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vocabulary {
    /// SentencePiece (`llama`) with byte-fallback tokens `<0x00>`..`<0xFF>` typed as bytes
    /// ([`byte_vocab`]), BOS `<s>` added. mistral.rs treats every token not typed normal as
    /// special and leaves it out of decoded text, so this vocabulary decodes to nothing there.
    SentencePieceBytes,
    /// GPT-2 byte-level BPE (`gpt2`) without merges: 256 normal tokens, one per byte
    /// (GPT-2's printable stand-in characters), then `<|endoftext|>` (BOS), `<|im_start|>` and
    /// `<|im_end|>` (EOS) as control tokens, no BOS added, then normal filler tokens no text
    /// produces. Decodes in llama.cpp and mistral.rs.
    Gpt2Bytes,
}

impl Vocabulary {
    /// Writes the `tokenizer.ggml.*` keys for `size` tokens (filler tokens after the real ones).
    pub(crate) fn write(self, w: &mut GgufWriter, size: usize) {
        match self {
            Vocabulary::SentencePieceBytes => {
                let vocab = byte_vocab(size - 259);
                tokens(w, &vocab);
                w.kv("tokenizer.ggml.model", "llama")
                    .kv("tokenizer.ggml.scores", Value::F32Array(vec![0.0; size]))
                    .kv("tokenizer.ggml.unknown_token_id", 0u32)
                    .kv("tokenizer.ggml.bos_token_id", 1u32)
                    .kv("tokenizer.ggml.eos_token_id", 2u32)
                    .kv("tokenizer.ggml.add_bos_token", Value::Bool(true))
                    .kv("tokenizer.ggml.add_eos_token", Value::Bool(false));
            }
            Vocabulary::Gpt2Bytes => {
                let mut vocab: Vec<(String, TokenKind)> = (0..=255u8)
                    .map(|b| (byte_char(b).to_string(), TokenKind::Normal))
                    .collect();
                for special in ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] {
                    vocab.push((special.to_string(), TokenKind::Control));
                }
                // Filler is typed normal, as the merged tokens of a real BPE vocabulary are:
                // mistral.rs adds every other token as a special one, one at a time, which
                // takes hours for a real model's 150k.
                let filler = (0..size - vocab.len())
                    .map(|i| (format!("<unused{i}>"), TokenKind::Normal))
                    .collect::<Vec<_>>();
                vocab.extend(filler);
                tokens(w, &vocab);
                w.kv("tokenizer.ggml.model", "gpt2")
                    .kv("tokenizer.ggml.pre", "default")
                    .kv("tokenizer.ggml.merges", Value::StrArray(Vec::new()))
                    .kv("tokenizer.ggml.bos_token_id", 256u32)
                    .kv("tokenizer.ggml.eos_token_id", 258u32)
                    .kv("tokenizer.ggml.add_bos_token", Value::Bool(false))
                    .kv("tokenizer.ggml.add_eos_token", Value::Bool(false));
            }
        }
    }
}

fn tokens(w: &mut GgufWriter, vocab: &[(String, TokenKind)]) {
    w.kv(
        "tokenizer.ggml.tokens",
        Value::StrArray(vocab.iter().map(|(t, _)| t.clone()).collect()),
    )
    .kv(
        "tokenizer.ggml.token_type",
        Value::I32Array(vocab.iter().map(|(_, k)| *k as i32).collect()),
    );
}
