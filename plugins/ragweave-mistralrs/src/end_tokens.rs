//! End-of-generation tokens beyond the model's EOS. mistral.rs stops at the EOS id alone;
//! llama.cpp also stops at control tokens named like turn or text ends (Qwen's
//! `<|endoftext|>` beside its `<|im_end|>` EOS, Llama 3's `<|eot_id|>`). The plugin finds
//! them the way llama.cpp does and asks mistral.rs to stop there too, so both engines end a
//! reply at the same token.

use std::path::Path;

use serde_json::Value;

/// Token texts llama.cpp treats as ending generation.
const END_TEXTS: &[&str] = &[
    "<|endoftext|>",
    "<|im_end|>",
    "<|eot_id|>",
    "<|eom_id|>",
    "<|end|>",
    "<end_of_turn>",
    "<|end_of_text|>",
    "<EOT>",
    "<end_of_utterance>",
];

/// GGUF `token_type` of control tokens.
const CONTROL: i32 = 3;

/// Ids of control tokens whose text ends generation, from GGUF metadata.
pub(crate) fn from_gguf(tokens: &[String], types: &[i32]) -> Vec<u32> {
    tokens
        .iter()
        .zip(types)
        .enumerate()
        .filter(|(_, (text, ty))| **ty == CONTROL && END_TEXTS.contains(&text.as_str()))
        .map(|(id, _)| id as u32)
        .collect()
}

/// Ids of special added tokens whose text ends generation, from a `tokenizer.json`.
pub(crate) fn from_tokenizer_json(path: &Path) -> Vec<u32> {
    let Some(json) = std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
    else {
        return Vec::new();
    };
    json.get("added_tokens")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|t| t.get("special").and_then(Value::as_bool) == Some(true))
        .filter(|t| {
            t.get("content")
                .and_then(Value::as_str)
                .is_some_and(|c| END_TEXTS.contains(&c))
        })
        .filter_map(|t| t.get("id").and_then(Value::as_u64).map(|id| id as u32))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_tokens_named_as_ends_are_found() {
        let tokens: Vec<String> = [
            "a",
            "<|endoftext|>",
            "<|im_start|>",
            "<|im_end|>",
            "<|endoftext|>",
        ]
        .map(String::from)
        .to_vec();
        // The last is normal text that happens to read the same: not an end.
        assert_eq!(from_gguf(&tokens, &[1, 3, 3, 3, 1]), vec![1, 3]);
    }
}
