//! The query as it travels through transforms, router and retrievers.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::types::Metadata;

/// Number of hits asked for when the caller does not say.
pub const DEFAULT_TOP_K: usize = 10;

/// A search request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Query {
    /// What the user asked.
    pub text: String,
    /// How many hits to return.
    pub top_k: usize,
    /// Only chunks whose metadata matches are returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<Filter>,
    /// A dense vector computed by a transform (think-then-retrieve, HyDE). A dense retriever
    /// uses it in place of embedding `text`, but only when `model` is its own embedder's id:
    /// a vector from another model would be meaningless to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector: Option<QueryVector>,
    /// Extra text for sparse retrievers: BM25 appends it to `text` (query expansion).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expansions: Vec<String>,
    /// Thoughts a transform generated for this query, kept for the trace.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thoughts: Vec<String>,
}

/// A dense query vector and the embedder model it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryVector {
    /// [`crate::Embedder::model_id`] of the embedder that made it.
    pub model: String,
    /// The vector.
    pub values: Vec<f32>,
}

impl Query {
    /// A query for the default number of hits.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            top_k: DEFAULT_TOP_K,
            filter: None,
            vector: None,
            expansions: Vec::new(),
            thoughts: Vec::new(),
        }
    }

    /// Sets how many hits to return.
    pub fn top_k(mut self, top_k: usize) -> Self {
        self.top_k = top_k;
        self
    }

    /// Restricts results to chunks matching `filter`.
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filter = Some(filter);
        self
    }

    /// The text a sparse retriever should match: the query plus its expansions.
    pub fn sparse_text(&self) -> String {
        if self.expansions.is_empty() {
            return self.text.clone();
        }
        let mut s = self.text.clone();
        for e in &self.expansions {
            s.push(' ');
            s.push_str(e);
        }
        s
    }

    /// The precomputed vector, if it was made by the embedder `model`.
    pub fn vector_for(&self, model: &str) -> Option<&[f32]> {
        self.vector
            .as_ref()
            .filter(|v| v.model == model)
            .map(|v| v.values.as_slice())
    }

    /// Checks what every retriever needs: non-blank text and `top_k > 0`.
    pub fn validate(&self) -> Result<()> {
        if self.text.trim().is_empty() {
            return Err(Error::invalid("query.text", "the query is empty"));
        }
        if self.top_k == 0 {
            return Err(Error::invalid("query.top_k", "must be at least 1"));
        }
        Ok(())
    }
}

impl From<&str> for Query {
    fn from(text: &str) -> Self {
        Query::new(text)
    }
}

impl From<String> for Query {
    fn from(text: String) -> Self {
        Query::new(text)
    }
}

/// A condition on chunk metadata, in the spirit of Qdrant's payload filters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Filter {
    /// `metadata[field] == value`.
    Eq {
        /// Metadata key.
        field: String,
        /// Value it must equal (at most [`crate::bounded::MAX_JSON_VALUES`] values).
        #[serde(deserialize_with = "crate::bounded::value")]
        value: serde_json::Value,
    },
    /// `metadata[field]` is one of `values`.
    In {
        /// Metadata key.
        field: String,
        /// Accepted values (at most [`crate::bounded::MAX_JSON_VALUES`] in all).
        #[serde(deserialize_with = "crate::bounded::values")]
        values: Vec<serde_json::Value>,
    },
    /// Every inner filter matches.
    And(Vec<Filter>),
    /// At least one inner filter matches.
    Or(Vec<Filter>),
    /// The inner filter does not match.
    Not(Box<Filter>),
}

impl Filter {
    /// `metadata[field] == value`.
    pub fn eq(field: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
        Filter::Eq {
            field: field.into(),
            value: value.into(),
        }
    }

    /// Whether `metadata` satisfies this filter; a missing field never equals anything.
    pub fn matches(&self, metadata: &Metadata) -> bool {
        match self {
            Filter::Eq { field, value } => metadata.get(field) == Some(value),
            Filter::In { field, values } => metadata.get(field).is_some_and(|v| values.contains(v)),
            Filter::And(fs) => fs.iter().all(|f| f.matches(metadata)),
            Filter::Or(fs) => fs.iter().any(|f| f.matches(metadata)),
            Filter::Not(f) => !f.matches(metadata),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validate_rejects_empty_text_and_zero_top_k() {
        let e = Query::new("  ").validate().unwrap_err();
        assert!(e.to_string().contains("query.text"), "{e}");
        let e = Query::new("q").top_k(0).validate().unwrap_err();
        assert!(e.to_string().contains("query.top_k"), "{e}");
        Query::new("q").validate().unwrap();
    }

    #[test]
    fn filters_evaluate_on_metadata() {
        let mut m = Metadata::new();
        m.insert("lang".into(), json!("en"));
        m.insert("year".into(), json!(2024));
        assert!(Filter::eq("lang", "en").matches(&m));
        assert!(!Filter::eq("lang", "de").matches(&m));
        assert!(!Filter::eq("missing", "en").matches(&m));
        let f = Filter::And(vec![
            Filter::In {
                field: "year".into(),
                values: vec![json!(2023), json!(2024)],
            },
            Filter::Not(Box::new(Filter::eq("lang", "de"))),
        ]);
        assert!(f.matches(&m));
        assert!(!Filter::Or(vec![Filter::eq("lang", "fr")]).matches(&m));
    }

    #[test]
    fn vector_is_used_only_by_its_own_model() {
        let mut q = Query::new("q");
        q.vector = Some(QueryVector {
            model: "minilm".into(),
            values: vec![1.0],
        });
        assert_eq!(q.vector_for("minilm"), Some(&[1.0][..]));
        assert_eq!(q.vector_for("bge"), None);
    }
}
