//! Query and document prompts of an embedding model: sentence-transformers'
//! `config_sentence_transformers.json` `prompts`, and how each model family words a task
//! instruction.

use std::path::Path;

use ragweave_core::{EmbedInput, InputKind};
use serde_json::Value;

/// Model families whose instruction wording the plugin knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Family {
    /// Qwen3-Embedding: `Instruct: {task}\nQuery:{text}`.
    Qwen3,
    /// EmbeddingGemma: `task: {task} | query: {text}`.
    Gemma,
    /// Anything else: the instruction, a space, the text.
    #[default]
    Other,
}

impl Family {
    /// From `config.json`'s `model_type`.
    pub fn from_config(config: &Value) -> Self {
        match config.get("model_type").and_then(Value::as_str) {
            Some("qwen3") => Family::Qwen3,
            Some(t) if t.starts_with("gemma3") => Family::Gemma,
            _ => Family::Other,
        }
    }
}

/// The text put before each query and each document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Prompts {
    pub family: Family,
    pub query: String,
    pub document: String,
}

impl Prompts {
    /// Reads `config.json` and `config_sentence_transformers.json` from `dir` (either may be
    /// missing: no prompts, family unknown).
    pub fn from_dir(dir: &Path) -> Self {
        let read = |name: &str| -> Option<Value> {
            serde_json::from_str(&std::fs::read_to_string(dir.join(name)).ok()?).ok()
        };
        let family = read("config.json")
            .map(|c| Family::from_config(&c))
            .unwrap_or(Family::Other);
        let st = read("config_sentence_transformers.json");
        let prompt = |key: &str| {
            st.as_ref()
                .and_then(|s| s.get("prompts")?.get(key)?.as_str().map(str::to_string))
                .unwrap_or_default()
        };
        Self {
            family,
            query: prompt("query"),
            document: prompt("document"),
        }
    }

    /// The prefix for `input`: its instruction worded for the family, else the default.
    pub fn prefix(&self, input: &EmbedInput<'_>) -> String {
        match (input.kind, input.instruction) {
            (InputKind::Query, None) => self.query.clone(),
            (InputKind::Document, None) => self.document.clone(),
            (InputKind::Query, Some(task)) => match self.family {
                Family::Qwen3 => format!("Instruct: {task}\nQuery:"),
                Family::Gemma => format!("task: {task} | query: "),
                Family::Other => format!("{task} "),
            },
            (InputKind::Document, Some(task)) => format!("{task} "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_are_worded_per_family() {
        let p = Prompts {
            family: Family::Qwen3,
            query: "Q: ".into(),
            document: String::new(),
        };
        let ask = |kind, instruction| EmbedInput { kind, instruction };
        assert_eq!(p.prefix(&EmbedInput::QUERY), "Q: ");
        assert_eq!(p.prefix(&EmbedInput::DOCUMENT), "");
        assert_eq!(
            p.prefix(&ask(InputKind::Query, Some("Find claims"))),
            "Instruct: Find claims\nQuery:"
        );
        let g = Prompts {
            family: Family::Gemma,
            ..p.clone()
        };
        assert_eq!(
            g.prefix(&ask(InputKind::Query, Some("fact checking"))),
            "task: fact checking | query: "
        );
        assert_eq!(
            Family::from_config(&serde_json::json!({"model_type": "gemma3_text"})),
            Family::Gemma
        );
    }
}
