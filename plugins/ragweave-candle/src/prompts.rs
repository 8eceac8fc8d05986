//! The text an asymmetric model expects before queries and documents.

use serde_json::Value;

use crate::files::{ModelFiles, read_json};

/// Prefixes for the two sides of retrieval.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Prompts {
    pub query: String,
    pub document: String,
}

impl Prompts {
    /// The model's own `prompts` (config_sentence_transformers.json) if it has them, else the
    /// prefixes its family was trained with: e5 (`query: ` / `passage: `) and English bge
    /// (an instruction before queries only). Others get none.
    pub fn of_model(files: &ModelFiles) -> Self {
        if let Some(p) = from_sentence_transformers(files) {
            return p;
        }
        let name = files.name.to_ascii_lowercase();
        if name.contains("e5-") || name.starts_with("e5") {
            Prompts {
                query: "query: ".into(),
                document: "passage: ".into(),
            }
        } else if name.contains("bge-") && name.contains("-en") {
            Prompts {
                query: "Represent this sentence for searching relevant passages: ".into(),
                document: String::new(),
            }
        } else {
            Prompts::default()
        }
    }
}

fn from_sentence_transformers(files: &ModelFiles) -> Option<Prompts> {
    let path = files.optional("config_sentence_transformers.json")?;
    let v: Value = read_json(&path).ok()?;
    let prompts = v.get("prompts")?.as_object()?;
    let get = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| prompts.get(*k).and_then(Value::as_str))
            .unwrap_or("")
            .to_string()
    };
    let p = Prompts {
        query: get(&["query"]),
        document: get(&["document", "passage", "corpus"]),
    };
    (p != Prompts::default()).then_some(p)
}
