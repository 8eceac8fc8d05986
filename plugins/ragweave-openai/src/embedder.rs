//! An [`Embedder`] over `POST /embeddings`.

use async_trait::async_trait;
use ragweave_core::{EmbedInput, Embedder, Error, InputKind, Result};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::client::Client;
use crate::error::OpenAiError;
use crate::options::OpenAiOptions;
use crate::wire::{EmbeddingsReply, EmbeddingsRequest};

/// How [`OpenAiEmbedder`] reaches its server, tells queries from documents, and batches:
/// also the fields of the `openai_embedder` kind beside `model`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct OpenAiEmbedderOptions {
    /// How to reach the server.
    #[serde(flatten, deserialize_with = "ragweave_core::config::flat")]
    pub endpoint: OpenAiOptions,
    /// The vector length; unset asks the server once at connect.
    pub dimension: Option<usize>,
    /// Texts per request; unset is 64.
    pub batch_size: Option<usize>,
    /// Put before each query (`"query: "` for e5, an instruction for bge).
    pub query_prefix: String,
    /// Put before each document (`"passage: "` for e5).
    pub document_prefix: String,
    /// Also send `input_type` (`query` / `document`), for servers that embed the two sides
    /// differently themselves (`ragweave serve`); OpenAI refuses the field.
    pub send_input_type: bool,
}

/// Embeddings from an OpenAI-compatible server: TEI, vLLM, llama-server, Ollama, OpenAI,
/// or `ragweave serve`.
///
/// Its [`Embedder::model_id`] is the model name the server reports, so vectors it makes are
/// searched against a store built with the same model (a `ragweave serve` reports its
/// embedder's own id: a store ingested locally is searchable through the server and back).
///
/// ```no_run
/// use ragweave_core::{EmbedInput, Embedder};
/// use ragweave_openai::{OpenAiEmbedder, OpenAiEmbedderOptions, OpenAiOptions};
///
/// # async fn run() -> ragweave_core::Result<()> {
/// let options = OpenAiEmbedderOptions {
///     endpoint: OpenAiOptions::at("http://localhost:8081/v1"),
///     ..OpenAiEmbedderOptions::default()
/// };
/// let tei = OpenAiEmbedder::connect("bge-small-en-v1.5", options).await?;
/// let v = tei.embed_one("what is rust?", EmbedInput::QUERY).await?;
/// assert_eq!(v.len(), tei.dimension());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct OpenAiEmbedder {
    client: Client,
    model_id: String,
    dimension: usize,
    options: OpenAiEmbedderOptions,
}

impl OpenAiEmbedder {
    /// Connects: one request embeds a probe text to learn the model's id and (unless given)
    /// its dimension, so a wrong URL, key or model fails here rather than mid-ingest.
    pub async fn connect(model: &str, embedder: OpenAiEmbedderOptions) -> Result<Self> {
        let client = Client::new(model, &embedder.endpoint)?;
        if embedder.batch_size == Some(0) {
            return Err(Error::config("batch_size", "must be at least 1"));
        }
        let mut this = Self {
            model_id: client.model.clone(),
            client,
            dimension: embedder.dimension.unwrap_or(0),
            options: embedder,
        };
        let (model, probe) = this.request(vec!["dimension probe".into()], None).await?;
        let dimension = probe.first().map_or(0, Vec::len);
        if dimension == 0 {
            return Err(this.decode("the probe embedding is empty").into());
        }
        if let Some(configured) = this.options.dimension.filter(|d| *d != dimension) {
            return Err(Error::DimensionMismatch {
                field: format!("{} dimension", this.client.url("embeddings")),
                expected: configured,
                actual: dimension,
            });
        }
        this.dimension = dimension;
        if let Some(model) = model {
            this.model_id = model;
        }
        Ok(this)
    }

    fn decode(&self, reason: impl Into<String>) -> OpenAiError {
        OpenAiError::Decode {
            url: self.client.url("embeddings"),
            reason: reason.into(),
        }
    }

    /// One request; the vectors in input order, and the model the server named.
    async fn request(
        &self,
        input: Vec<String>,
        kind: Option<InputKind>,
    ) -> std::result::Result<(Option<String>, Vec<Vec<f32>>), OpenAiError> {
        let n = input.len();
        let body = EmbeddingsRequest {
            model: &self.client.model,
            input,
            encoding_format: "float",
            input_type: kind
                .filter(|_| self.options.send_input_type)
                .map(|k| match k {
                    InputKind::Query => "query",
                    InputKind::Document => "document",
                }),
        };
        let reply: EmbeddingsReply = self.client.call("embeddings", &body).await?;
        if reply.data.len() != n {
            return Err(self.decode(format!("{} embeddings for {n} inputs", reply.data.len())));
        }
        let mut vectors: Vec<Option<Vec<f32>>> = vec![None; n];
        for item in reply.data {
            match vectors.get_mut(item.index) {
                Some(slot @ None) => *slot = Some(item.embedding),
                _ => {
                    return Err(self.decode(format!(
                        "embedding index {} is out of range or repeated",
                        item.index
                    )));
                }
            }
        }
        Ok((reply.model, vectors.into_iter().flatten().collect()))
    }
}

#[async_trait]
impl Embedder for OpenAiEmbedder {
    fn name(&self) -> &str {
        "openai"
    }

    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    async fn embed(&self, texts: &[String], input: EmbedInput<'_>) -> Result<Vec<Vec<f32>>> {
        if let Some(i) = texts.iter().position(|t| t.trim().is_empty()) {
            return Err(Error::invalid(format!("texts[{i}]"), "is blank"));
        }
        let prefix = match input.kind {
            InputKind::Query => &self.options.query_prefix,
            InputKind::Document => &self.options.document_prefix,
        };
        let instruction = input
            .instruction
            .map(|i| format!("{i} "))
            .unwrap_or_default();
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(self.options.batch_size.unwrap_or(64)) {
            let input_texts = batch
                .iter()
                .map(|t| format!("{instruction}{prefix}{t}"))
                .collect();
            let (_, vectors) = self.request(input_texts, Some(input.kind)).await?;
            for (i, v) in vectors.iter().enumerate() {
                if v.len() != self.dimension {
                    return Err(Error::DimensionMismatch {
                        field: format!("{} output[{}]", self.model_id, out.len() + i),
                        expected: self.dimension,
                        actual: v.len(),
                    });
                }
                if v.iter().any(|x| !x.is_finite()) {
                    return Err(self
                        .decode(format!(
                            "embedding {} has a NaN or an infinity",
                            out.len() + i
                        ))
                        .into());
                }
            }
            out.extend(vectors);
        }
        Ok(out)
    }
}
