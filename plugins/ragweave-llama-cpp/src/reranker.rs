//! [`LlamaReranker`]: GGUF reranking models through llama.cpp's rank pooling.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use llama_cpp_2::context::params::LlamaPoolingType;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;
use ragweave_core::{Error, Hit, Query, Reranker, Result, sort_hits};

use crate::context_thread::ContextThread;
use crate::encoder::{self, EncodeJob, EncoderOptions, model_pooling};
use crate::error::LlamaCppError;
use crate::model::{self, Loaded};

/// A reranking model in GGUF (a cross-encoder with a classification head, e.g. bge-reranker
/// or jina-reranker): each (query, passage) pair gets the model's relevance score.
pub struct LlamaReranker {
    model: Arc<LlamaModel>,
    jobs: ContextThread<EncodeJob>,
    max_length: usize,
    path: PathBuf,
}

impl LlamaReranker {
    /// Loads a GGUF reranker (its metadata must declare rank pooling).
    pub fn load(spec: &str, options: EncoderOptions) -> std::result::Result<Self, LlamaCppError> {
        let Loaded {
            model,
            path,
            architecture,
        } = model::load(spec, options.revision.as_deref(), options.gpu_layers)?;
        let pooling = model_pooling(&model, &architecture);
        if pooling != Some(4) {
            return Err(LlamaCppError::WrongKind {
                path,
                reason: format!(
                    "not a reranking model: {architecture}.pooling_type is {pooling:?}, rank (4) expected"
                ),
            });
        }
        let (jobs, max_length) = options.start(&model, LlamaPoolingType::Rank, 4)?;
        Ok(Self {
            model,
            jobs,
            max_length,
            path,
        })
    }

    /// The GGUF file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The tokens of one (query, passage) pair: `[CLS] query [SEP] passage [SEP]` for BERT
    /// vocabularies, `<s> query </s> <sep> passage </s>` (llama-server's layout) otherwise;
    /// the passage is cut to fit.
    pub fn pair_tokens(&self, query: &str, passage: &str) -> Vec<LlamaToken> {
        let vocab = self.model.vocab();
        let q = vocab.tokenize(query.as_bytes(), false, false);
        let mut d = vocab.tokenize(passage.as_bytes(), false, false);
        let real = |t: LlamaToken| (t.0 >= 0).then_some(t);
        let (bos, sep, eos) = (real(vocab.bos()), real(vocab.sep()), real(vocab.eos()));
        let (mid, end): (Vec<LlamaToken>, Vec<LlamaToken>) = if vocab.should_add_sep() {
            (sep.into_iter().collect(), sep.into_iter().collect())
        } else {
            (
                eos.into_iter().chain(sep).collect(),
                eos.into_iter().collect(),
            )
        };
        let fixed = usize::from(bos.is_some()) + q.len() + mid.len() + end.len();
        d.truncate(self.max_length.saturating_sub(fixed));
        bos.into_iter()
            .chain(q)
            .chain(mid)
            .chain(d)
            .chain(end)
            .collect()
    }

    /// Scores of each passage for the query, in order.
    pub async fn scores(&self, query: &str, passages: &[&str]) -> Result<Vec<f32>> {
        if query.trim().is_empty() {
            return Err(Error::invalid("query.text", "is empty"));
        }
        let mut pairs = Vec::with_capacity(passages.len());
        for p in passages {
            let pair = self.pair_tokens(query, p);
            if pair.len() > self.max_length {
                return Err(Error::invalid(
                    "query.text",
                    format!(
                        "is {} tokens with its separators; the model reads {}",
                        pair.len(),
                        self.max_length
                    ),
                ));
            }
            pairs.push(pair);
        }
        let outputs = encoder::run(&self.jobs, pairs).await?;
        Ok(outputs
            .into_iter()
            .map(|o| o.first().copied().unwrap_or(f32::NAN))
            .collect())
    }
}

#[async_trait]
impl Reranker for LlamaReranker {
    fn name(&self) -> &str {
        "llama-cpp"
    }

    async fn rerank(&self, query: &Query, mut hits: Vec<Hit>) -> Result<Vec<Hit>> {
        if hits.is_empty() {
            return Ok(hits);
        }
        let passages: Vec<&str> = hits.iter().map(|h| h.chunk.text.as_str()).collect();
        let scores = self.scores(&query.text, &passages).await?;
        for (hit, s) in hits.iter_mut().zip(scores) {
            hit.score = s;
        }
        sort_hits(&mut hits);
        Ok(hits)
    }
}

impl std::fmt::Debug for LlamaReranker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlamaReranker")
            .field("path", &self.path)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use ragweave_testkit::gguf::{EncoderSpec, Rng};

    use super::*;

    /// The tiny reranker's weights, made again from the writer's seeded streams.
    fn weights(spec: &EncoderSpec, name: &str, n: usize, scale: f32) -> Vec<f32> {
        let mut rng = Rng::for_tensor(spec.seed, name);
        (0..n).map(|_| rng.uniform(scale)).collect()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn rank_pooling_is_the_classifier_head_on_the_cls_state() {
        let spec = EncoderSpec::tiny_reranker();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reranker.gguf");
        spec.write(&path).unwrap();
        let r = LlamaReranker::load(path.to_str().unwrap(), EncoderOptions::default()).unwrap();
        let pair = r.pair_tokens("where do rivers go", "to the sea");
        // [CLS] query [SEP] passage [SEP], with the writer's ids (CLS 2, SEP 3).
        assert_eq!(pair.first().map(|t| t.0), Some(2));
        assert_eq!(pair.last().map(|t| t.0), Some(3));
        assert_eq!(pair.iter().filter(|t| t.0 == 3).count(), 2);
        let score = r
            .scores("where do rivers go", &["to the sea"])
            .await
            .unwrap()[0];
        // The same pair through the same encoder with CLS pooling gives the state the head reads.
        let cls = encoder::spawn(
            Arc::clone(&r.model),
            encoder::EncoderShape {
                batch_tokens: 512,
                max_sequences: 1,
                threads: 1,
                pooling: LlamaPoolingType::Cls,
                flash_attention: false,
            },
        )
        .unwrap();
        let h = encoder::run(&cls, vec![pair]).await.unwrap().remove(0);
        let n = spec.embedding_length as usize;
        assert_eq!(h.len(), n);
        // score = w_out . tanh(W h + b) + b_out, weights in GGUF order (input index fastest).
        let w = weights(&spec, "cls.weight", n * n, 0.3);
        let b = weights(&spec, "cls.bias", n, 0.05);
        let w_out = weights(&spec, "cls.output.weight", n, 0.5);
        let b_out = weights(&spec, "cls.output.bias", 1, 0.05)[0];
        let pooled: Vec<f32> = (0..n)
            .map(|j| (b[j] + (0..n).map(|i| w[j * n + i] * h[i]).sum::<f32>()).tanh())
            .collect();
        let expected = b_out + pooled.iter().zip(&w_out).map(|(p, w)| p * w).sum::<f32>();
        assert!(
            (score - expected).abs() < 1e-4,
            "llama.cpp {score}, by hand {expected}"
        );
    }
}
