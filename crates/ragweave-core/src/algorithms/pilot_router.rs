//! RouterRetriever's routing (arXiv 2409.02685): pick expert retrievers for a query by how
//! close it lies to each expert's pilot embeddings. No model is trained.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::kmeans::{dot, normalize};
use crate::error::{Error, Result, read_file};
use crate::query::Query;
use crate::traits::embedder::{EmbedInput, Embedder};
use crate::traits::router::{Route, Router};

/// How an expert's pilots score a query.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PilotScoring {
    /// Mean cosine similarity to the expert's pilots, as the paper defines it.
    #[default]
    Mean,
    /// Highest cosine similarity to any pilot, as the authors' code does.
    Max,
}

/// How a [`PilotRouter`] chooses: also the fields of the `pilot` router kind.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PilotRouterOptions {
    /// `mean` (paper) or `max` (authors' code).
    pub scoring: PilotScoring,
    /// How many experts each query goes to (at least 1); their results are fused with
    /// weights.
    pub top_k: usize,
    /// Weights for top-k: unset makes them proportional to the scores; a value is a softmax
    /// temperature over score / t, which sharpens the preference as t falls.
    pub temperature: Option<f32>,
}

impl Default for PilotRouterOptions {
    /// Mean scoring, top-1.
    fn default() -> Self {
        Self {
            scoring: PilotScoring::Mean,
            top_k: 1,
            temperature: None,
        }
    }
}

/// Pilot embeddings per expert, as saved to and loaded from JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pilots {
    /// [`Embedder::model_id`] of the embedder the pilots were made with.
    pub model: String,
    /// Vector length.
    pub dimension: usize,
    /// Unit-length pilot vectors per expert name.
    pub experts: BTreeMap<String, Vec<Vec<f32>>>,
}

impl Pilots {
    /// Reads pilots from a JSON file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = read_file(path)?;
        let mut de = serde_json::Deserializer::from_str(&text);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            Error::config(
                format!("{}: {}", path.display(), e.path()),
                e.inner().to_string(),
            )
        })
    }

    /// Writes pilots as JSON.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let json = serde_json::to_string(self).expect("pilots serialize");
        std::fs::write(path, json).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })
    }
}

/// Routes queries to the experts whose pilot embeddings they resemble most.
///
/// ```
/// # use std::sync::Arc;
/// # use ragweave_core::{PilotRouter, PilotScoring, Router, Query, HashingEmbedder};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> ragweave_core::Result<()> {
/// let embedder = Arc::new(HashingEmbedder::new(64));
/// let router = PilotRouter::new(embedder.clone()).scoring(PilotScoring::Max);
/// router.add_expert_from_queries("biology", &["protein folding", "gene expression"]).await?;
/// router.add_expert_from_queries("law", &["contract breach", "court ruling"]).await?;
/// let experts = ["biology".to_string(), "law".to_string()];
/// let routes = router.route(&Query::new("gene expression in yeast"), &experts).await?;
/// assert_eq!(routes[0].expert, "biology");
/// # Ok(()) }
/// ```
pub struct PilotRouter {
    embedder: Arc<dyn Embedder>,
    experts: RwLock<BTreeMap<String, Vec<Vec<f32>>>>,
    options: PilotRouterOptions,
}

impl PilotRouter {
    /// A router with no experts yet and [`PilotRouterOptions::default`].
    pub fn new(embedder: Arc<dyn Embedder>) -> Self {
        Self::with_options(embedder, PilotRouterOptions::default())
    }

    /// A router with no experts yet that chooses as `options` say.
    pub fn with_options(embedder: Arc<dyn Embedder>, options: PilotRouterOptions) -> Self {
        Self {
            embedder,
            experts: RwLock::new(BTreeMap::new()),
            options: PilotRouterOptions {
                top_k: options.top_k.max(1),
                ..options
            },
        }
    }

    /// Sets mean (paper) or max (authors' code) scoring.
    pub fn scoring(mut self, scoring: PilotScoring) -> Self {
        self.options.scoring = scoring;
        self
    }

    /// Routes to the best `k` experts (at least 1); their results are fused with weights.
    pub fn top_k(mut self, k: usize) -> Self {
        self.options.top_k = k.max(1);
        self
    }

    /// Weights for top-k: `None` makes them proportional to the scores; `Some(t)` is a
    /// softmax of score / t, which sharpens the preference as t falls.
    pub fn temperature(mut self, t: Option<f32>) -> Self {
        self.options.temperature = t;
        self
    }

    /// Adds or replaces an expert with the given pilot vectors.
    pub fn add_expert(&self, name: impl Into<String>, pilots: Vec<Vec<f32>>) -> Result<()> {
        let name = name.into();
        let pilots = self.checked_pilots(&name, pilots)?;
        self.experts
            .write()
            .expect("router lock")
            .insert(name, pilots);
        Ok(())
    }

    /// Adds an expert whose pilots are the embeddings of example queries it serves well.
    pub async fn add_expert_from_queries(&self, name: &str, queries: &[&str]) -> Result<()> {
        let texts: Vec<String> = queries.iter().map(|q| q.to_string()).collect();
        let vectors = self
            .embedder
            .embed_checked(&texts, EmbedInput::QUERY)
            .await?;
        self.add_expert(name, vectors)
    }

    /// Removes an expert; returns whether it was there.
    pub fn remove_expert(&self, name: &str) -> bool {
        self.experts
            .write()
            .expect("router lock")
            .remove(name)
            .is_some()
    }

    /// Names of the experts that have pilots.
    pub fn experts(&self) -> Vec<String> {
        self.experts
            .read()
            .expect("router lock")
            .keys()
            .cloned()
            .collect()
    }

    /// Replaces all pilots with `pilots`, which must come from this router's embedder.
    pub fn load_pilots(&self, pilots: Pilots) -> Result<()> {
        if pilots.model != self.embedder.model_id() {
            return Err(Error::config(
                "router.pilots.model",
                format!(
                    "pilots were made with `{}` but the router embeds with `{}`",
                    pilots.model,
                    self.embedder.model_id()
                ),
            ));
        }
        let mut checked = BTreeMap::new();
        for (name, vectors) in pilots.experts {
            let v = self.checked_pilots(&name, vectors)?;
            checked.insert(name, v);
        }
        *self.experts.write().expect("router lock") = checked;
        Ok(())
    }

    /// The current pilots, ready to [`Pilots::save`].
    pub fn pilots(&self) -> Pilots {
        Pilots {
            model: self.embedder.model_id().to_string(),
            dimension: self.embedder.dimension(),
            experts: self.experts.read().expect("router lock").clone(),
        }
    }

    /// Scores every expert in `among` that has pilots against a unit query vector, best first.
    pub fn score(&self, query: &[f32], among: &[String]) -> Vec<(String, f32)> {
        let experts = self.experts.read().expect("router lock");
        let mut scored: Vec<(String, f32)> = among
            .iter()
            .filter_map(|name| {
                let pilots = experts.get(name)?;
                let sims = pilots.iter().map(|p| dot(p, query));
                let s = match self.options.scoring {
                    PilotScoring::Mean => sims.sum::<f32>() / pilots.len() as f32,
                    PilotScoring::Max => sims.fold(f32::NEG_INFINITY, f32::max),
                };
                Some((name.clone(), s))
            })
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1));
        scored
    }

    fn checked_pilots(&self, expert: &str, mut pilots: Vec<Vec<f32>>) -> Result<Vec<Vec<f32>>> {
        if pilots.is_empty() {
            return Err(Error::invalid(
                format!("router.experts.{expert}"),
                "an expert needs at least one pilot",
            ));
        }
        let dim = self.embedder.dimension();
        for (i, p) in pilots.iter_mut().enumerate() {
            let field = format!("router.experts.{expert}[{i}]");
            if p.len() != dim {
                return Err(Error::DimensionMismatch {
                    field,
                    expected: dim,
                    actual: p.len(),
                });
            }
            if !normalize(p) {
                return Err(Error::invalid(field, "pilot is zero or not finite"));
            }
        }
        Ok(pilots)
    }

    fn weights(&self, scores: &[(String, f32)]) -> Vec<f32> {
        match self.options.temperature {
            Some(t) if t > 0.0 => {
                let max = scores.iter().map(|s| s.1).fold(f32::NEG_INFINITY, f32::max);
                let e: Vec<f32> = scores.iter().map(|s| ((s.1 - max) / t).exp()).collect();
                let sum: f32 = e.iter().sum();
                e.into_iter().map(|x| x / sum).collect()
            }
            _ => {
                let pos: Vec<f32> = scores.iter().map(|s| s.1.max(1e-6)).collect();
                let sum: f32 = pos.iter().sum();
                pos.into_iter().map(|x| x / sum).collect()
            }
        }
    }
}

#[async_trait]
impl Router for PilotRouter {
    fn name(&self) -> &str {
        "pilot"
    }

    async fn route(&self, query: &Query, experts: &[String]) -> Result<Vec<Route>> {
        if experts.is_empty() {
            return Err(Error::invalid(
                "router.experts",
                "there are no experts to route among",
            ));
        }
        query.validate()?;
        // A vector an earlier transform made with this embedder saves embedding again.
        let mut v = match query.vector_for(self.embedder.model_id()) {
            Some(v) => v.to_vec(),
            None => {
                self.embedder
                    .embed_one(&query.text, EmbedInput::QUERY)
                    .await?
            }
        };
        if !normalize(&mut v) {
            return Err(Error::component(
                "router",
                "query embedding is zero or not finite",
            ));
        }
        let mut scored = self.score(&v, experts);
        if scored.is_empty() {
            return Err(Error::invalid(
                "router.experts",
                format!(
                    "no pilots for any of the pipeline's experts {experts:?}; the router knows {:?}",
                    self.experts()
                ),
            ));
        }
        scored.truncate(self.options.top_k);
        let weights = self.weights(&scored);
        Ok(scored
            .into_iter()
            .zip(weights)
            .map(|((expert, _), weight)| Route { expert, weight })
            .collect())
    }
}
