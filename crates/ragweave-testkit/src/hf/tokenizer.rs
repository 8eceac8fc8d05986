//! A byte-level BPE `tokenizer.json` (GPT-2's byte-to-character mapping, no merges): every
//! byte is one token, so any text tokenizes, and ChatML's markers are special tokens.

use serde_json::{Value, json};

/// Ids of the special tokens, after the 256 byte tokens.
pub const END_OF_TEXT: u32 = 256;
/// `<|im_start|>`.
pub const IM_START: u32 = 257;
/// `<|im_end|>`, the end of an assistant turn.
pub const IM_END: u32 = 258;
/// Byte tokens and the three special tokens.
pub const VOCAB_SIZE: usize = 259;

/// GPT-2's printable stand-in character for each byte.
pub(crate) fn byte_char(b: u8) -> char {
    let printable = |c: u8| matches!(c, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    if printable(b) {
        return char::from(b);
    }
    let rank = (0..b).filter(|&c| !printable(c)).count() as u32;
    char::from_u32(256 + rank).expect("valid code point")
}

fn added(id: u32, content: &str) -> Value {
    json!({
        "id": id, "content": content, "single_word": false, "lstrip": false,
        "rstrip": false, "normalized": false, "special": true,
    })
}

/// The `tokenizer.json` document.
pub(crate) fn tokenizer_json() -> Value {
    let vocab: serde_json::Map<String, Value> = (0..=255u8)
        .map(|b| (byte_char(b).to_string(), json!(b)))
        .collect();
    let byte_level = json!({
        "type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true,
    });
    json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": [
            added(END_OF_TEXT, "<|endoftext|>"),
            added(IM_START, "<|im_start|>"),
            added(IM_END, "<|im_end|>"),
        ],
        "normalizer": null,
        "pre_tokenizer": byte_level,
        "post_processor": byte_level,
        "decoder": byte_level,
        "model": {
            "type": "BPE", "dropout": null, "unk_token": null,
            "continuing_subword_prefix": null, "end_of_word_suffix": null,
            "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
            "vocab": vocab, "merges": [],
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_map_to_distinct_characters_like_gpt2() {
        let chars: std::collections::HashSet<char> = (0..=255u8).map(byte_char).collect();
        assert_eq!(chars.len(), 256);
        assert_eq!(byte_char(b' '), 'Ġ');
        assert_eq!(byte_char(b'\n'), 'Ċ');
        assert_eq!(byte_char(b'a'), 'a');
    }
}
