//! The text an asymmetric model expects before queries and documents.

use ragweave_core::InputKind;
use serde_json::Value;

use crate::files::{ModelFiles, read_json};

/// Prefixes for the two sides of retrieval.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Prompts {
    pub query: String,
    pub document: String,
}

impl Prompts {
    /// The prefix for texts of `kind`.
    pub fn for_kind(&self, kind: InputKind) -> &str {
        match kind {
            InputKind::Query => &self.query,
            InputKind::Document => &self.document,
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    fn files(name: &str, dir: &std::path::Path) -> ModelFiles {
        ModelFiles {
            name: name.into(),
            dir: dir.to_path_buf(),
            config: dir.join("config.json"),
            tokenizer: dir.join("tokenizer.json"),
            weights: vec![dir.join("model.safetensors")],
        }
    }

    #[test]
    fn families_get_the_prefixes_they_were_trained_with() {
        let dir = tempfile::tempdir().unwrap();
        let e5 = Prompts::of_model(&files("intfloat/e5-small-v2", dir.path()));
        assert_eq!(
            (e5.query.as_str(), e5.document.as_str()),
            ("query: ", "passage: ")
        );
        let bge = Prompts::of_model(&files("BAAI/bge-small-en-v1.5", dir.path()));
        assert!(bge.query.starts_with("Represent this sentence"));
        assert_eq!(bge.document, "");
        let minilm = Prompts::of_model(&files("all-MiniLM-L6-v2", dir.path()));
        assert_eq!(minilm, Prompts::default());
    }

    #[test]
    fn the_model_own_prompts_win() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config_sentence_transformers.json"),
            r#"{"prompts": {"query": "search_query: ", "document": "search_document: "}}"#,
        )
        .unwrap();
        let p = Prompts::of_model(&files("intfloat/e5-small-v2", dir.path()));
        assert_eq!(p.query, "search_query: ");
        assert_eq!(p.document, "search_document: ");
    }
}
