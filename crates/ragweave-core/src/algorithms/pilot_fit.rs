//! Fitting pilot embeddings from labelled queries (RouterRetriever, section 3).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use super::kmeans::{normalize, spherical_kmeans};
use super::metrics::ndcg_at_k;
use super::pilot_router::Pilots;
use crate::error::{Error, Result};
use crate::query::Query;
use crate::traits::embedder::{EmbedInput, Embedder};
use crate::traits::retriever::Retriever;

/// A training query with graded relevance judgements by document id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelledQuery {
    /// The query text.
    pub text: String,
    /// Document id to relevance grade (> 0 is relevant).
    pub relevant: HashMap<String, f32>,
}

/// What to do with a query on which several experts score the same best nDCG.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TieRule {
    /// Use no tied query: only a query one expert serves strictly best says where to route.
    #[default]
    Skip,
    /// Give a tied query to every expert that tied.
    All,
}

/// Settings for [`fit_pilots`].
#[derive(Debug, Clone)]
pub struct FitOptions {
    /// Pilots per expert (k-means centroids); 1 in the paper.
    pub centroids: usize,
    /// nDCG cut-off used to judge experts; 10 in the paper.
    pub cutoff: usize,
    /// Training queries searched at once.
    pub concurrency: usize,
    /// Tie handling.
    pub ties: TieRule,
    /// k-means seed.
    pub seed: u64,
}

impl Default for FitOptions {
    fn default() -> Self {
        Self {
            centroids: 1,
            cutoff: 10,
            concurrency: 8,
            ties: TieRule::Skip,
            seed: 0x5EED,
        }
    }
}

/// What fitting found, for the closing report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    /// Training queries assigned to each expert.
    pub assigned: BTreeMap<String, usize>,
    /// Queries no expert served (all nDCG 0) or, under [`TieRule::Skip`], several served best.
    pub skipped: usize,
    /// Mean nDCG@cutoff of each expert over all training queries.
    pub mean_ndcg: BTreeMap<String, f64>,
    /// Mean nDCG@cutoff of the per-query best expert: the ceiling routing can reach.
    pub oracle_ndcg: f64,
}

/// Runs every expert on every training query, gives each query to the expert that scores
/// best on it by nDCG@cutoff, and k-means clusters each expert's query embeddings into its
/// pilots. Hits are judged at document level (`chunk.document_id`).
pub async fn fit_pilots(
    embedder: &dyn Embedder,
    experts: &[(String, Arc<dyn Retriever>)],
    queries: &[LabelledQuery],
    options: &FitOptions,
) -> Result<(Pilots, FitReport)> {
    if experts.is_empty() {
        return Err(Error::invalid(
            "fit.experts",
            "no experts to fit pilots for",
        ));
    }
    if queries.is_empty() {
        return Err(Error::invalid("fit.queries", "no training queries"));
    }
    let cutoff = options.cutoff.max(1);
    // scores[q][e]: nDCG of expert e on query q.
    let scores: Vec<Vec<f64>> = futures::stream::iter(queries.iter().enumerate())
        .map(|(qi, lq)| async move {
            let query = Query::new(lq.text.clone()).top_k(cutoff);
            let mut row = Vec::with_capacity(experts.len());
            for (name, expert) in experts {
                let hits = expert.retrieve(&query).await.map_err(|e| {
                    Error::failed(format!("fit: expert {name} on query {qi}"), false, e)
                })?;
                let ids: Vec<&str> = hits.iter().map(|h| h.chunk.document_id.as_str()).collect();
                row.push(ndcg_at_k(&ids, &lq.relevant, cutoff));
            }
            Ok::<_, Error>(row)
        })
        .buffered(options.concurrency.max(1))
        .try_collect()
        .await?;

    let mut members: Vec<Vec<usize>> = vec![Vec::new(); experts.len()];
    let mut report = FitReport::default();
    for (qi, row) in scores.iter().enumerate() {
        let best = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        report.oracle_ndcg += best;
        let winners: Vec<usize> = (0..row.len()).filter(|&e| row[e] == best).collect();
        if best <= 0.0 || (winners.len() > 1 && options.ties == TieRule::Skip) {
            report.skipped += 1;
            continue;
        }
        for e in winners {
            members[e].push(qi);
        }
    }
    report.oracle_ndcg /= queries.len() as f64;
    for (e, (name, _)) in experts.iter().enumerate() {
        let mean = scores.iter().map(|r| r[e]).sum::<f64>() / queries.len() as f64;
        report.mean_ndcg.insert(name.clone(), mean);
        report.assigned.insert(name.clone(), members[e].len());
    }

    let texts: Vec<String> = queries.iter().map(|q| q.text.clone()).collect();
    let mut vectors = Vec::with_capacity(texts.len());
    for batch in texts.chunks(64) {
        vectors.extend(embedder.embed_checked(batch, EmbedInput::QUERY).await?);
    }
    for (i, v) in vectors.iter_mut().enumerate() {
        if !normalize(v) {
            return Err(Error::component(
                "fit",
                format!("embedding of training query {i} is zero or not finite"),
            ));
        }
    }
    let mut pilots = BTreeMap::new();
    for (e, (name, _)) in experts.iter().enumerate() {
        let points: Vec<Vec<f32>> = members[e].iter().map(|&q| vectors[q].clone()).collect();
        let centroids = spherical_kmeans(&points, options.centroids, 50, options.seed);
        if !centroids.is_empty() {
            pilots.insert(name.clone(), centroids);
        }
    }
    Ok((
        Pilots {
            model: embedder.model_id().to_string(),
            dimension: embedder.dimension(),
            experts: pilots,
        },
        report,
    ))
}
