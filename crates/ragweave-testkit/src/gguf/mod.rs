//! Writes GGUF files, so tests make their own tiny models instead of downloading weights.
//!
//! [`GgufWriter`] is the file format (v3: metadata, tensor table, aligned data);
//! [`DecoderSpec`] and [`EncoderSpec`] use it to make random-weight llama/qwen2 decoders and
//! BERT encoders that llama.cpp loads, and [`convert_bert`] turns a Hugging Face BERT
//! checkpoint (the real all-MiniLM-L6-v2) into a GGUF embedding model.
//!
//! ```no_run
//! use ragweave_testkit::gguf::DecoderSpec;
//! let dir = std::env::temp_dir();
//! DecoderSpec::tiny().write(&dir.join("tiny-llama.gguf")).unwrap();
//! ```

mod convert;
mod decoder;
mod encoder;
mod numbers;
mod vocabulary;
mod writer;

pub use convert::convert_bert;
pub use decoder::DecoderSpec;
pub use encoder::{EncoderSpec, Pooling};
pub use numbers::Rng;
pub use vocabulary::Vocabulary;
pub use writer::{GgufWriter, TensorData, TensorType, Value};

/// The byte-level vocabulary of the test decoders: `<unk>`, `<s>`, `</s>`, then one token per
/// byte `<0x00>`..`<0xFF>`, then `extra` unused filler tokens (so a test model can have a real
/// model's vocabulary size).
pub fn byte_vocab(extra: usize) -> Vec<(String, TokenKind)> {
    let mut v = vec![
        ("<unk>".to_string(), TokenKind::Unknown),
        ("<s>".to_string(), TokenKind::Control),
        ("</s>".to_string(), TokenKind::Control),
    ];
    v.extend((0..=255u8).map(|b| (format!("<0x{b:02X}>"), TokenKind::Byte)));
    v.extend((0..extra).map(|i| (format!("<unused{i}>"), TokenKind::Unused)));
    v
}

/// GGUF token types (`tokenizer.ggml.token_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// An ordinary piece of text.
    Normal = 1,
    /// The unknown token.
    Unknown = 2,
    /// A control token (BOS, EOS, CLS, SEP, ...), never produced by plain text.
    Control = 3,
    /// A token the model never uses.
    Unused = 5,
    /// One raw byte (`<0xNN>`).
    Byte = 6,
}

/// The ChatML template the test decoders carry in `tokenizer.chat_template`; llama.cpp
/// recognises it by its `<|im_start|>` markers.
pub const CHATML_TEMPLATE: &str = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";
