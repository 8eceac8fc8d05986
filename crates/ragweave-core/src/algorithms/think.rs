//! Reasoning before retrieval: O1 Embedder (arXiv 2502.07555) and HyDE.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::kmeans::normalize;
use crate::error::{Error, Result};
use crate::message::ChatMessage;
use crate::query::{Query, QueryVector};
use crate::traits::embedder::{EmbedInput, Embedder};
use crate::traits::generator::{GenerateRequest, Generator, SamplingParams};
use crate::traits::query_transform::QueryTransform;

/// How thoughts become a query vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ThinkMode {
    /// O1 Embedder: embed "query thought" for each thought, average the vectors.
    O1,
    /// HyDE: embed each thought alone as a document, average, optionally with the query's
    /// own vector.
    Hyde {
        /// Also average in the query's vector.
        include_query: bool,
    },
}

/// The prompt that asks for a thought; `{query}` is replaced by the query.
pub const DEFAULT_THINK_PROMPT: &str = "Think briefly about the question below and write a short passage that would answer it.\nQuestion: {query}\nPassage:";

/// A query transform that has an LLM think about the query before retrieval.
///
/// It asks the generator for `n` thoughts, then:
/// - sets [`Query::vector`] from the thoughts (O1 or HyDE, see [`ThinkMode`]) when it has an
///   embedder, for dense retrievers using the same model;
/// - adds the thoughts to [`Query::expansions`], which sparse retrievers append to the query;
/// - records them in [`Query::thoughts`], so they show in the answer's trace.
///
/// Thoughts are cached by query text (bounded, oldest out first).
pub struct ThinkThenRetrieve {
    generator: Arc<dyn Generator>,
    embedder: Option<Arc<dyn Embedder>>,
    mode: ThinkMode,
    thoughts: usize,
    params: SamplingParams,
    prompt: String,
    expand_sparse: bool,
    cache: Mutex<ThoughtCache>,
}

#[derive(Default)]
struct ThoughtCache {
    map: HashMap<String, Arc<Vec<String>>>,
    order: VecDeque<String>,
    capacity: usize,
}

impl ThoughtCache {
    fn get(&self, key: &str) -> Option<Arc<Vec<String>>> {
        self.map.get(key).cloned()
    }

    fn put(&mut self, key: String, value: Arc<Vec<String>>) {
        if self.capacity == 0 || self.map.contains_key(&key) {
            return;
        }
        if self.map.len() == self.capacity
            && let Some(old) = self.order.pop_front()
        {
            self.map.remove(&old);
        }
        self.order.push_back(key.clone());
        self.map.insert(key, value);
    }
}

impl ThinkThenRetrieve {
    /// O1 mode, 3 thoughts of at most 128 tokens at temperature 0.7, a cache of 1024 queries.
    pub fn new(generator: Arc<dyn Generator>) -> Self {
        Self {
            generator,
            embedder: None,
            mode: ThinkMode::O1,
            thoughts: 3,
            params: SamplingParams {
                max_tokens: 128,
                temperature: 0.7,
                ..SamplingParams::default()
            },
            prompt: DEFAULT_THINK_PROMPT.to_string(),
            expand_sparse: true,
            cache: Mutex::new(ThoughtCache {
                capacity: 1024,
                ..ThoughtCache::default()
            }),
        }
    }

    /// Embeds thoughts with `embedder`, producing a query vector for dense retrieval.
    pub fn embedder(mut self, embedder: Arc<dyn Embedder>) -> Self {
        self.embedder = Some(embedder);
        self
    }

    /// O1 or HyDE.
    pub fn mode(mut self, mode: ThinkMode) -> Self {
        self.mode = mode;
        self
    }

    /// Number of thoughts per query (at least 1).
    pub fn thoughts(mut self, n: usize) -> Self {
        self.thoughts = n.max(1);
        self
    }

    /// Sampling for the thoughts.
    pub fn sampling(mut self, params: SamplingParams) -> Self {
        self.params = params;
        self
    }

    /// The prompt template; `{query}` is replaced by the query text.
    pub fn prompt(mut self, prompt: impl Into<String>) -> Self {
        self.prompt = prompt.into();
        self
    }

    /// Whether thoughts expand the query for sparse retrievers (default true).
    pub fn expand_sparse(mut self, yes: bool) -> Self {
        self.expand_sparse = yes;
        self
    }

    /// How many queries' thoughts are cached (0 disables the cache).
    pub fn cache_capacity(mut self, n: usize) -> Self {
        self.cache.get_mut().expect("cache lock").capacity = n;
        self
    }

    /// The thoughts for `query`, from the cache or the generator.
    pub async fn think(&self, query: &str) -> Result<Arc<Vec<String>>> {
        if let Some(hit) = self.cache.lock().expect("cache lock").get(query) {
            return Ok(hit);
        }
        let prompt = self.prompt.replace("{query}", query);
        let requests = (0..self.thoughts).map(|i| {
            let mut params = self.params.clone();
            // Distinct seeds, so n thoughts are n samples rather than one repeated.
            params.seed = params.seed.map(|s| s.wrapping_add(i as u64));
            GenerateRequest {
                messages: vec![ChatMessage::user(prompt.clone())],
                params,
            }
        });
        let completions = futures::future::try_join_all(
            requests.map(|r| async move { self.generator.complete(&r).await }),
        )
        .await?;
        let thoughts: Vec<String> = completions
            .into_iter()
            .map(|c| c.text.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
        let thoughts = Arc::new(thoughts);
        self.cache
            .lock()
            .expect("cache lock")
            .put(query.to_string(), thoughts.clone());
        Ok(thoughts)
    }

    async fn vector(
        &self,
        embedder: &dyn Embedder,
        query: &str,
        thoughts: &[String],
    ) -> Result<Vec<f32>> {
        let vectors = match self.mode {
            ThinkMode::O1 => {
                let texts: Vec<String> = thoughts.iter().map(|t| format!("{query} {t}")).collect();
                embedder.embed_checked(&texts, EmbedInput::QUERY).await?
            }
            ThinkMode::Hyde { include_query } => {
                let mut v = embedder
                    .embed_checked(thoughts, EmbedInput::DOCUMENT)
                    .await?;
                if include_query {
                    v.push(embedder.embed_one(query, EmbedInput::QUERY).await?);
                }
                v
            }
        };
        let mut mean = vec![0.0f32; embedder.dimension()];
        for v in &vectors {
            mean.iter_mut()
                .zip(v)
                .for_each(|(m, x)| *m += x / vectors.len() as f32);
        }
        if !normalize(&mut mean) {
            return Err(Error::component(
                "think",
                "mean thought embedding is zero or not finite",
            ));
        }
        Ok(mean)
    }
}

#[async_trait]
impl QueryTransform for ThinkThenRetrieve {
    fn name(&self) -> &str {
        "think"
    }

    async fn transform(&self, mut query: Query) -> Result<Query> {
        query.validate()?;
        let thoughts = self.think(&query.text).await?;
        // A generator that wrote nothing leaves the query as it was: plain retrieval.
        if thoughts.is_empty() {
            return Ok(query);
        }
        if let Some(embedder) = &self.embedder {
            let values = self
                .vector(embedder.as_ref(), &query.text, &thoughts)
                .await?;
            query.vector = Some(QueryVector {
                model: embedder.model_id().to_string(),
                values,
            });
        }
        if self.expand_sparse {
            query.expansions.extend(thoughts.iter().cloned());
        }
        query.thoughts.extend(thoughts.iter().cloned());
        Ok(query)
    }
}
