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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ThinkMode {
    /// O1 Embedder: embed "query thought" for each thought, average the vectors.
    #[default]
    O1,
    /// HyDE: embed each thought alone as a document, average, optionally with the query's
    /// own vector ([`ThinkOptions::include_query`]).
    Hyde,
}

/// The prompt that asks for a thought; `{query}` is replaced by the query.
pub const DEFAULT_THINK_PROMPT: &str = "Think briefly about the question below and write a short passage that would answer it.\nQuestion: {query}\nPassage:";

/// How [`ThinkThenRetrieve`] thinks: also the fields of the `think` transform kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ThinkOptions {
    /// `o1` or `hyde`.
    pub mode: ThinkMode,
    /// HyDE only: average the query's own vector in.
    pub include_query: bool,
    /// Thoughts per query (at least 1).
    pub thoughts: usize,
    /// Most tokens per thought.
    pub max_tokens: usize,
    /// Sampling temperature.
    pub temperature: f32,
    /// Seed; thought i uses seed + i.
    pub seed: Option<u64>,
    /// Prompt with `{query}`.
    pub prompt: String,
    /// Whether thoughts expand the query for sparse retrievers.
    pub expand_sparse: bool,
    /// Queries whose thoughts are cached (0 disables the cache).
    pub cache: usize,
}

impl Default for ThinkOptions {
    /// O1 mode, 3 thoughts of at most 128 tokens at temperature 0.7, a cache of 1024 queries.
    fn default() -> Self {
        Self {
            mode: ThinkMode::O1,
            include_query: false,
            thoughts: 3,
            max_tokens: 128,
            temperature: 0.7,
            seed: None,
            prompt: DEFAULT_THINK_PROMPT.to_string(),
            expand_sparse: true,
            cache: 1024,
        }
    }
}

impl ThinkOptions {
    /// The sampling of each thought.
    pub fn sampling(&self) -> SamplingParams {
        SamplingParams {
            max_tokens: self.max_tokens,
            temperature: self.temperature,
            seed: self.seed,
            ..SamplingParams::default()
        }
    }

    /// Rejects options no generator can honour, naming the field.
    pub fn validate(&self) -> Result<()> {
        if self.thoughts == 0 {
            return Err(Error::invalid("thoughts", "must be at least 1"));
        }
        self.sampling().validate()
    }
}

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
    options: ThinkOptions,
    params: SamplingParams,
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
    /// Thinks with [`ThinkOptions::default`].
    pub fn new(generator: Arc<dyn Generator>) -> Self {
        Self::with_options(generator, ThinkOptions::default())
    }

    /// Thinks as `options` say (at least one thought).
    pub fn with_options(generator: Arc<dyn Generator>, mut options: ThinkOptions) -> Self {
        options.thoughts = options.thoughts.max(1);
        Self {
            generator,
            embedder: None,
            params: options.sampling(),
            cache: Mutex::new(ThoughtCache {
                capacity: options.cache,
                ..ThoughtCache::default()
            }),
            options,
        }
    }

    /// Embeds thoughts with `embedder`, producing a query vector for dense retrieval.
    pub fn embedder(mut self, embedder: Arc<dyn Embedder>) -> Self {
        self.embedder = Some(embedder);
        self
    }

    /// O1 or HyDE.
    pub fn mode(mut self, mode: ThinkMode) -> Self {
        self.options.mode = mode;
        self
    }

    /// HyDE only: whether the query's own vector is averaged in.
    pub fn include_query(mut self, yes: bool) -> Self {
        self.options.include_query = yes;
        self
    }

    /// Number of thoughts per query (at least 1).
    pub fn thoughts(mut self, n: usize) -> Self {
        self.options.thoughts = n.max(1);
        self
    }

    /// Sampling for the thoughts, all of it (stop sequences, top-p, ...), in place of the
    /// options' `max_tokens`, `temperature` and `seed`.
    pub fn sampling(mut self, params: SamplingParams) -> Self {
        self.params = params;
        self
    }

    /// The prompt template; `{query}` is replaced by the query text.
    pub fn prompt(mut self, prompt: impl Into<String>) -> Self {
        self.options.prompt = prompt.into();
        self
    }

    /// Whether thoughts expand the query for sparse retrievers (default true).
    pub fn expand_sparse(mut self, yes: bool) -> Self {
        self.options.expand_sparse = yes;
        self
    }

    /// How many queries' thoughts are cached (0 disables the cache).
    pub fn cache_capacity(mut self, n: usize) -> Self {
        self.options.cache = n;
        self.cache.get_mut().expect("cache lock").capacity = n;
        self
    }

    /// The thoughts for `query`, from the cache or the generator.
    pub async fn think(&self, query: &str) -> Result<Arc<Vec<String>>> {
        if let Some(hit) = self.cache.lock().expect("cache lock").get(query) {
            return Ok(hit);
        }
        let prompt = self.options.prompt.replace("{query}", query);
        let requests = (0..self.options.thoughts).map(|i| {
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
        let vectors = match self.options.mode {
            ThinkMode::O1 => {
                let texts: Vec<String> = thoughts.iter().map(|t| format!("{query} {t}")).collect();
                embedder.embed_checked(&texts, EmbedInput::QUERY).await?
            }
            ThinkMode::Hyde => {
                let mut v = embedder
                    .embed_checked(thoughts, EmbedInput::DOCUMENT)
                    .await?;
                if self.options.include_query {
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
        if self.options.expand_sparse {
            query.expansions.extend(thoughts.iter().cloned());
        }
        query.thoughts.extend(thoughts.iter().cloned());
        Ok(query)
    }
}
