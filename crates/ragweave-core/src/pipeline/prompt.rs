//! The prompt template: how passages and the question become chat messages.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::message::ChatMessage;
use crate::types::Hit;

/// Turns the question, the arranged passages and the conversation into messages.
///
/// Placeholders: `{context}` and `{query}` in `user`; `{index}`, `{text}`, `{document_id}`
/// and `{chunk_id}` in `passage`. Rendering is one pass, so a `{context}` typed inside a
/// query stays literal text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PromptTemplate {
    /// The system message; empty for none.
    pub system: String,
    /// The user message.
    pub user: String,
    /// How each passage is written into `{context}`.
    pub passage: String,
    /// Between passages.
    pub separator: String,
}

impl Default for PromptTemplate {
    fn default() -> Self {
        Self {
            system: "Answer the question using only the numbered passages. Cite passages as [n]. If they do not contain the answer, say so.".into(),
            user: "Passages:\n{context}\n\nQuestion: {query}".into(),
            passage: "[{index}] {text}".into(),
            separator: "\n\n".into(),
        }
    }
}

const USER_VARS: &[&str] = &["context", "query"];
const PASSAGE_VARS: &[&str] = &["index", "text", "document_id", "chunk_id"];

impl PromptTemplate {
    /// Checks that every placeholder is known, so a typo fails at build time.
    pub fn validate(&self) -> Result<()> {
        check_vars(&self.system, &[], "prompt.system")?;
        check_vars(&self.user, USER_VARS, "prompt.user")?;
        check_vars(&self.passage, PASSAGE_VARS, "prompt.passage")
    }

    /// The messages for the generator: system, then `history`, then the user message.
    pub fn render(
        &self,
        query: &str,
        passages: &[Hit],
        history: Vec<ChatMessage>,
    ) -> Vec<ChatMessage> {
        let mut context = String::new();
        for (i, hit) in passages.iter().enumerate() {
            if i > 0 {
                context.push_str(&self.separator);
            }
            let index = (i + 1).to_string();
            render_into(&mut context, &self.passage, |name| match name {
                "index" => Some(&index),
                "text" => Some(&hit.chunk.text),
                "document_id" => Some(&hit.chunk.document_id),
                "chunk_id" => Some(&hit.chunk.id),
                _ => None,
            });
        }
        let mut user = String::with_capacity(self.user.len() + context.len() + query.len());
        render_into(&mut user, &self.user, |name| match name {
            "context" => Some(&context),
            "query" => Some(query),
            _ => None,
        });
        let mut messages = Vec::with_capacity(history.len() + 2);
        if !self.system.is_empty() {
            messages.push(ChatMessage::system(self.system.clone()));
        }
        messages.extend(history);
        messages.push(ChatMessage::user(user));
        messages
    }
}

/// Appends `template` to `out`, replacing each `{name}` that `lookup` knows.
fn render_into<'a>(out: &mut String, template: &str, lookup: impl Fn(&str) -> Option<&'a str>) {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after
            .find('}')
            .and_then(|close| Some((close, lookup(&after[..close])?)))
        {
            Some((close, value)) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
}

fn check_vars(template: &str, known: &[&str], field: &str) -> Result<()> {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        let name = &after[..close];
        let looks_like_var =
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if looks_like_var && !known.contains(&name) {
            return Err(Error::config(
                field,
                format!("unknown placeholder {{{name}}}; expected one of {known:?}"),
            ));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Chunk;

    #[test]
    fn renders_numbered_passages_and_question() {
        let hits = vec![
            Hit::new(Chunk::new("c1", "d1", "alpha"), 1.0, "r"),
            Hit::new(Chunk::new("c2", "d2", "beta"), 0.5, "r"),
        ];
        let msgs = PromptTemplate::default().render(
            "why {context}?",
            &hits,
            vec![ChatMessage::user("earlier")],
        );
        assert_eq!(msgs.len(), 3);
        assert_eq!(msgs[1].content, "earlier");
        assert_eq!(
            msgs[2].content,
            "Passages:\n[1] alpha\n\n[2] beta\n\nQuestion: why {context}?"
        );
    }

    #[test]
    fn unknown_placeholders_are_config_errors() {
        let t = PromptTemplate {
            user: "{contxt} {query}".into(),
            ..Default::default()
        };
        let e = t.validate().unwrap_err();
        assert!(
            e.to_string().contains("prompt.user") && e.to_string().contains("contxt"),
            "{e}"
        );
        let json_like = PromptTemplate {
            system: "reply as {\"a\": 1}".into(),
            ..Default::default()
        };
        json_like.validate().unwrap();
    }
}
