//! Request and reply bodies. Their JSON Schemas make the OpenAPI document, so what the
//! document says is what the handlers parse.

use ragweave_core::{Filter, Hit, Metadata};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `POST /v1/chat/completions`: OpenAI's request; fields ragweave does not use (`user`,
/// `logprobs`, penalties) are accepted and ignored.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ChatRequest {
    /// The pipeline's model name (an answer with citations) or a generator's name (plain
    /// chat); `GET /v1/models` lists them.
    pub model: String,
    /// The conversation; the last message is the user's question.
    pub messages: Vec<ChatMessageIn>,
    /// Stream the answer as server-sent events.
    #[serde(default)]
    pub stream: bool,
    /// Streaming options.
    #[serde(default)]
    pub stream_options: Option<StreamOptions>,
    /// Most tokens to generate.
    #[serde(default)]
    pub max_tokens: Option<usize>,
    /// OpenAI's newer name for `max_tokens`.
    #[serde(default)]
    pub max_completion_tokens: Option<usize>,
    /// 0 is greedy.
    #[serde(default)]
    pub temperature: Option<f32>,
    /// Nucleus sampling mass.
    #[serde(default)]
    pub top_p: Option<f32>,
    /// Sample among this many most likely tokens (llama-server, vLLM).
    #[serde(default)]
    pub top_k: Option<u32>,
    /// Drop tokens below this fraction of the top token's probability.
    #[serde(default)]
    pub min_p: Option<f32>,
    /// Seed for reproducible sampling.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Penalty for repeating recent tokens.
    #[serde(default)]
    pub repeat_penalty: Option<f32>,
    /// Up to 16 stop sequences.
    #[serde(default)]
    pub stop: Option<StopIn>,
    /// Completions per request; only 1 is served.
    #[serde(default)]
    pub n: Option<u32>,
    /// ragweave: passages to retrieve for the answer (default 5).
    #[serde(default)]
    pub passages: Option<usize>,
    /// ragweave: restricts retrieval by metadata.
    #[serde(default)]
    pub filter: Option<Filter>,
}

/// Streaming options.
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct StreamOptions {
    /// Send a last chunk with token counts.
    #[serde(default)]
    pub include_usage: bool,
}

/// One stop sequence or several.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum StopIn {
    /// One.
    One(String),
    /// Several.
    Many(Vec<String>),
}

/// A message in OpenAI's shape: content as a string or as text parts.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ChatMessageIn {
    /// `system`, `developer` (read as system), `user` or `assistant`.
    pub role: String,
    /// The text, or a list of `{"type": "text", "text": ...}` parts.
    pub content: ContentIn,
}

/// Message content.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ContentIn {
    /// Plain text.
    Text(String),
    /// Parts; only `text` parts are served.
    Parts(Vec<ContentPart>),
}

/// A part of a message.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ContentPart {
    /// `text`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The text of a `text` part.
    #[serde(default)]
    pub text: Option<String>,
}

/// A whole chat completion.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ChatCompletion {
    /// `chatcmpl-...`.
    pub id: String,
    /// `chat.completion`.
    pub object: &'static str,
    /// Unix seconds.
    pub created: u64,
    /// The model asked for.
    pub model: String,
    /// One choice.
    pub choices: Vec<ChatChoice>,
    /// Token counts.
    pub usage: Usage,
    /// The passages the answer cites as `[n]`, in `n` order (empty for plain chat).
    pub citations: Vec<CitationOut>,
}

/// The answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ChatChoice {
    /// 0.
    pub index: u32,
    /// The assistant's message.
    pub message: ChatMessageOut,
    /// `stop` or `length`.
    pub finish_reason: &'static str,
}

/// An assistant message.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ChatMessageOut {
    /// `assistant`.
    pub role: &'static str,
    /// The text.
    pub content: String,
}

/// Token counts. ragweave counts generated tokens; it does not tokenize prompts, so
/// `prompt_tokens` is 0.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Usage {
    /// 0: not counted.
    pub prompt_tokens: usize,
    /// Tokens generated.
    pub completion_tokens: usize,
    /// Equal to `completion_tokens`.
    pub total_tokens: usize,
}

impl Usage {
    pub(crate) fn generated(tokens: usize) -> Self {
        Self {
            prompt_tokens: 0,
            completion_tokens: tokens,
            total_tokens: tokens,
        }
    }
}

/// A passage an answer cites.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CitationOut {
    /// The `n` of `[n]` in the answer.
    pub index: usize,
    /// The chunk.
    pub chunk_id: String,
    /// Its document.
    pub document_id: String,
    /// Its text.
    pub text: String,
    /// Its retrieval score.
    pub score: f32,
}

/// One streamed chunk (`chat.completion.chunk`).
#[derive(Debug, Serialize, JsonSchema)]
pub struct ChatChunk {
    /// The same for every chunk of a reply.
    pub id: String,
    /// `chat.completion.chunk`.
    pub object: &'static str,
    /// Unix seconds.
    pub created: u64,
    /// The model asked for.
    pub model: String,
    /// One choice, or none in the usage chunk.
    pub choices: Vec<ChunkChoice>,
    /// In the usage chunk only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// In the last chunk of an answer: the passages it cites.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub citations: Option<Vec<CitationOut>>,
}

/// A streamed choice.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ChunkChoice {
    /// 0.
    pub index: u32,
    /// What this chunk adds.
    pub delta: Delta,
    /// Set in the last chunk.
    pub finish_reason: Option<&'static str>,
}

/// A streamed addition: the role first, then one token per chunk.
#[derive(Debug, Default, Serialize, JsonSchema)]
pub struct Delta {
    /// `assistant`, in the first chunk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<&'static str>,
    /// A token's text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

/// `POST /v1/retrieve`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetrieveRequest {
    /// What to search for.
    pub query: String,
    /// Hits to return (default 10).
    #[serde(default)]
    pub top_k: Option<usize>,
    /// Restricts hits by metadata.
    #[serde(default)]
    pub filter: Option<Filter>,
    /// Include each stage's time.
    #[serde(default)]
    pub trace: bool,
}

/// Retrieved hits, best first.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RetrieveReply {
    /// The hits.
    pub hits: Vec<HitOut>,
    /// Stage timings, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<Vec<StageOut>>,
}

/// A hit.
#[derive(Debug, Serialize, JsonSchema)]
pub struct HitOut {
    /// The chunk.
    pub chunk_id: String,
    /// Its document.
    pub document_id: String,
    /// Its text.
    pub text: String,
    /// Its metadata.
    pub metadata: Metadata,
    /// The score (higher is better; comparable within one reply).
    pub score: f32,
    /// The expert or fusion that produced it.
    pub retriever: String,
}

impl From<Hit> for HitOut {
    fn from(h: Hit) -> Self {
        Self {
            chunk_id: h.chunk.id,
            document_id: h.chunk.document_id,
            text: h.chunk.text,
            metadata: h.chunk.metadata,
            score: h.score,
            retriever: h.retriever,
        }
    }
}

/// A stage's time.
#[derive(Debug, Serialize, JsonSchema)]
pub struct StageOut {
    /// e.g. `retrieve:docs`, `fuse`, `rerank`.
    pub name: String,
    /// Milliseconds.
    pub ms: f64,
    /// What the stage noted (routing weights, failures).
    pub notes: Vec<String>,
}

/// `POST /v1/ingest`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IngestRequest {
    /// The documents; one whose id is stored already replaces it.
    pub documents: Vec<DocumentIn>,
}

/// A document to ingest.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentIn {
    /// Its id, unique in the store.
    pub id: String,
    /// Its text.
    pub text: String,
    /// Metadata filters can match: at most
    /// [`MAX_JSON_VALUES`](ragweave_core::bounded::MAX_JSON_VALUES) values and the ingestor's
    /// `max_metadata_bytes` of JSON.
    #[serde(default, deserialize_with = "ragweave_core::bounded::metadata")]
    pub metadata: Metadata,
    /// Chunk along markdown structure.
    #[serde(default)]
    pub markdown: bool,
}

/// What an ingest did.
#[derive(Debug, Serialize, JsonSchema)]
pub struct IngestReply {
    /// Documents received.
    pub documents: usize,
    /// New to the store.
    pub added: usize,
    /// Replaced.
    pub updated: usize,
    /// Stored exactly as sent already.
    pub unchanged: usize,
    /// Chunks written.
    pub chunks_written: usize,
    /// Old chunks deleted.
    pub chunks_deleted: usize,
    /// Chunks in the store now.
    pub stored_chunks: usize,
}

/// `POST /v1/embeddings`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct EmbeddingsRequest {
    /// An embedder's name or model id.
    pub model: String,
    /// A text or a list of texts.
    pub input: InputIn,
    /// `float` (the only encoding served).
    #[serde(default)]
    pub encoding_format: Option<String>,
    /// Must equal the model's dimension when given.
    #[serde(default)]
    pub dimensions: Option<usize>,
    /// ragweave: `query` or `document` (default), for models that embed the two differently.
    #[serde(default)]
    pub input_type: Option<String>,
}

/// One text or several.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum InputIn {
    /// One.
    One(String),
    /// Several.
    Many(Vec<String>),
}

/// Embeddings, in input order.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EmbeddingsReply {
    /// `list`.
    pub object: &'static str,
    /// One per input.
    pub data: Vec<EmbeddingOut>,
    /// The embedder's model id.
    pub model: String,
    /// Token counts (not counted: 0).
    pub usage: Usage,
}

/// An embedding.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EmbeddingOut {
    /// `embedding`.
    pub object: &'static str,
    /// The input's position.
    pub index: usize,
    /// The vector.
    pub embedding: Vec<f32>,
}

/// `POST /v1/rerank`, in the shape llama-server, vLLM, Jina and Cohere share.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct RerankRequest {
    /// A reranker's name.
    pub model: String,
    /// The query.
    pub query: String,
    /// The passages to score.
    pub documents: Vec<String>,
    /// Keep this many best (default all).
    #[serde(default)]
    pub top_n: Option<usize>,
    /// Echo each passage's text.
    #[serde(default)]
    pub return_documents: bool,
}

/// Scores, best first.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RerankReply {
    /// The reranker.
    pub model: String,
    /// Best first.
    pub results: Vec<RerankResult>,
}

/// A scored passage.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RerankResult {
    /// Its position in `documents`.
    pub index: usize,
    /// Higher is more relevant.
    pub relevance_score: f32,
    /// The text, when `return_documents`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<RerankDocument>,
}

/// An echoed passage.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RerankDocument {
    /// Its text.
    pub text: String,
}

/// `GET /v1/models`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ModelList {
    /// `list`.
    pub object: &'static str,
    /// The models.
    pub data: Vec<ModelOut>,
}

/// A served model.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ModelOut {
    /// The name requests use.
    pub id: String,
    /// `model`.
    pub object: &'static str,
    /// 0.
    pub created: u64,
    /// `ragweave`.
    pub owned_by: &'static str,
    /// `rag` (answers with citations), `generator`, `embedder` or `reranker`.
    pub kind: &'static str,
}

/// `GET /healthz`: 200 when every generator can take requests, 503 otherwise (the reasons
/// go to the log, not the reply).
#[derive(Debug, Serialize, JsonSchema)]
pub struct Health {
    /// `ok`, or `unhealthy`.
    pub status: &'static str,
    /// The generators that cannot take requests now, by the names requests use.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unhealthy: Vec<String>,
}
