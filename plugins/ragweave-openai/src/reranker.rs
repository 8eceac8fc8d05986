//! A [`Reranker`] over `POST /rerank`.

use async_trait::async_trait;
use ragweave_core::{Hit, Query, Reranker, Result, sort_hits};

use crate::client::Client;
use crate::error::OpenAiError;
use crate::options::OpenAiOptions;
use crate::wire::{RerankReply, RerankRequest};

/// Rescores hits with a cross-encoder behind `POST {base_url}/rerank`: the shape
/// llama-server (`--reranking`), vLLM, Jina and Cohere serve, and `ragweave serve`; TEI's
/// bare-list reply is read too.
///
/// ```no_run
/// use ragweave_core::{Chunk, Hit, Query, Reranker};
/// use ragweave_openai::{OpenAiOptions, OpenAiReranker};
///
/// # async fn run() -> ragweave_core::Result<()> {
/// let reranker =
///     OpenAiReranker::new("bge-reranker-v2-m3", OpenAiOptions::at("http://localhost:8080/v1"))?;
/// let hits = vec![Hit::new(Chunk::new("c1", "d1", "Paris is in France."), 0.0, "bm25")];
/// let ranked = reranker.rerank(&Query::new("capital of France"), hits).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct OpenAiReranker {
    client: Client,
}

impl OpenAiReranker {
    /// A reranker for `model`; nothing is sent until the first call.
    pub fn new(model: &str, options: OpenAiOptions) -> std::result::Result<Self, OpenAiError> {
        Ok(Self {
            client: Client::new(model, &options)?,
        })
    }
}

#[async_trait]
impl Reranker for OpenAiReranker {
    fn name(&self) -> &str {
        "openai"
    }

    async fn rerank(&self, query: &Query, hits: Vec<Hit>) -> Result<Vec<Hit>> {
        if hits.is_empty() {
            return Ok(hits);
        }
        let body = RerankRequest {
            model: &self.client.model,
            query: &query.text,
            documents: hits.iter().map(|h| h.chunk.text.as_str()).collect(),
            top_n: hits.len(),
        };
        let reply: RerankReply = self.client.call("rerank", &body).await?;
        let decode = |reason: String| OpenAiError::Decode {
            url: self.client.url("rerank"),
            reason,
        };
        let mut slots: Vec<Option<Hit>> = hits.into_iter().map(Some).collect();
        let mut out = Vec::with_capacity(slots.len());
        for item in reply.items() {
            if !item.relevance_score.is_finite() {
                return Err(decode(format!("score {} is not finite", item.relevance_score)).into());
            }
            let Some(mut hit) = slots.get_mut(item.index).and_then(Option::take) else {
                return Err(decode(format!(
                    "result index {} is out of range or repeated",
                    item.index
                ))
                .into());
            };
            hit.score = item.relevance_score;
            out.push(hit);
        }
        sort_hits(&mut out);
        Ok(out)
    }
}
