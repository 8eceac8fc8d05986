//! The OpenAI API's request and reply bodies, as far as ragweave sends and reads them.

use ragweave_core::{ChatMessage, GenerateRequest};
use serde::{Deserialize, Serialize};

/// `POST /chat/completions`. Fields other than OpenAI's own (`top_k`, `min_p`,
/// `repeat_penalty`) are sent only when set: llama-server, vLLM and Ollama read them, OpenAI
/// itself refuses them.
#[derive(Debug, Serialize)]
pub(crate) struct ChatRequest<'a> {
    pub model: &'a str,
    pub messages: &'a [ChatMessage],
    pub stream: bool,
    pub max_tokens: usize,
    pub temperature: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_p: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat_penalty: Option<f32>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub stop: &'a [String],
}

impl<'a> ChatRequest<'a> {
    pub(crate) fn new(model: &'a str, request: &'a GenerateRequest, stream: bool) -> Self {
        let p = &request.params;
        Self {
            model,
            messages: &request.messages,
            stream,
            max_tokens: p.max_tokens,
            temperature: p.temperature,
            top_p: p.top_p,
            top_k: p.top_k,
            min_p: p.min_p,
            seed: p.seed,
            repeat_penalty: p.repeat_penalty,
            stop: &p.stop,
        }
    }
}

/// A whole chat completion.
#[derive(Debug, Deserialize)]
pub(crate) struct ChatCompletion {
    pub choices: Vec<ChatChoice>,
    #[serde(default)]
    pub usage: Option<Usage>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ChatChoice {
    pub message: ReplyMessage,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ReplyMessage {
    #[serde(default)]
    pub content: Option<String>,
}

/// Token counts a server reports.
#[derive(Debug, Deserialize)]
pub(crate) struct Usage {
    #[serde(default)]
    pub completion_tokens: Option<usize>,
}

/// One streamed chunk.
#[derive(Debug, Deserialize)]
pub(crate) struct ChatChunk {
    #[serde(default)]
    pub choices: Vec<ChunkChoice>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ChunkChoice {
    #[serde(default)]
    pub delta: Delta,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Delta {
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub content: Option<String>,
}

impl Delta {
    /// The token this delta carries: the opening `{"role": "assistant", "content": ""}` that
    /// OpenAI sends first is not one; any other delta with `content` is, even empty.
    pub(crate) fn token(self) -> Option<String> {
        match (self.role, self.content) {
            (Some(_), Some(c)) if c.is_empty() => None,
            (_, content) => content,
        }
    }
}

/// `POST /embeddings`.
#[derive(Debug, Serialize)]
pub(crate) struct EmbeddingsRequest<'a> {
    pub model: &'a str,
    pub input: Vec<String>,
    pub encoding_format: &'static str,
    /// `query` or `document`, for servers that embed the two differently (`ragweave serve`,
    /// Voyage, Cohere-style APIs); sent only when configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_type: Option<&'static str>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct EmbeddingsReply {
    pub data: Vec<EmbeddingItem>,
    #[serde(default)]
    pub model: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct EmbeddingItem {
    pub index: usize,
    pub embedding: Vec<f32>,
}

/// `POST /rerank` in the shape llama-server, vLLM, Jina and Cohere share.
#[derive(Debug, Serialize)]
pub(crate) struct RerankRequest<'a> {
    pub model: &'a str,
    pub query: &'a str,
    pub documents: Vec<&'a str>,
    pub top_n: usize,
}

/// `{"results": [...]}`, or TEI's bare list.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RerankReply {
    Results { results: Vec<RerankItem> },
    List(Vec<RerankItem>),
}

impl RerankReply {
    pub(crate) fn items(self) -> Vec<RerankItem> {
        match self {
            RerankReply::Results { results } => results,
            RerankReply::List(items) => items,
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct RerankItem {
    pub index: usize,
    #[serde(alias = "score")]
    pub relevance_score: f32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_opening_role_delta_is_not_a_token() {
        let d: Delta = serde_json::from_str(r#"{"role":"assistant","content":""}"#).unwrap();
        assert_eq!(d.token(), None);
        let d: Delta = serde_json::from_str(r#"{"content":""}"#).unwrap();
        assert_eq!(d.token().as_deref(), Some(""));
        let d: Delta = serde_json::from_str(r#"{"role":"assistant","content":"Hi"}"#).unwrap();
        assert_eq!(d.token().as_deref(), Some("Hi"));
        let d: Delta = serde_json::from_str(r#"{}"#).unwrap();
        assert_eq!(d.token(), None);
    }

    #[test]
    fn rerank_replies_of_both_shapes_parse() {
        let jina: RerankReply =
            serde_json::from_str(r#"{"model":"m","results":[{"index":1,"relevance_score":0.9}]}"#)
                .unwrap();
        assert_eq!(jina.items()[0].index, 1);
        let tei: RerankReply = serde_json::from_str(r#"[{"index":0,"score":0.5}]"#).unwrap();
        assert_eq!(tei.items()[0].relevance_score, 0.5);
    }
}
