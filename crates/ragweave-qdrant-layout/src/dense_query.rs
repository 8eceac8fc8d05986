//! The dense side of a search: which embedder may query a store, and the query's vector.

use std::sync::Arc;

use ragweave_core::{EmbedInput, Embedder, Error, Query, Result};

use serde::{Deserialize, Serialize};

/// The dense vector a store holds: which embedder made it, and its length.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DenseSpec {
    /// The embedder's `model_id`; queries embedded by another model are refused.
    pub model: String,
    /// Vector length.
    pub dimension: usize,
}

/// Checks that `embedder` is the model that made `store`'s dense vectors (`spec`), so its
/// query vectors are comparable; `store` names the store in errors.
pub fn check_embedder(
    spec: Option<&DenseSpec>,
    embedder: &dyn Embedder,
    store: &str,
) -> Result<()> {
    let Some(spec) = spec else {
        return Err(Error::config(
            "embedder",
            format!("store `{store}` holds no dense vectors; ingest with an embedder first"),
        ));
    };
    if embedder.model_id() != spec.model || embedder.dimension() != spec.dimension {
        return Err(Error::config(
            "embedder",
            format!(
                "`{}` ({}-d) is not the model the store was built with, `{}` ({}-d)",
                embedder.model_id(),
                embedder.dimension(),
                spec.model,
                spec.dimension
            ),
        ));
    }
    Ok(())
}

/// The dense vector to search `store` with: a query transform's vector for the store's
/// model ([`Query::vector_for`]) or else the query text embedded by `embedder`.
pub async fn dense_query_vector(
    query: &Query,
    spec: Option<&DenseSpec>,
    embedder: Option<&Arc<dyn Embedder>>,
    store: &str,
) -> Result<Vec<f32>> {
    let spec = spec.ok_or_else(|| {
        Error::config(
            "mode",
            format!("store `{store}` holds no dense vectors, so only sparse search works"),
        )
    })?;
    if let Some(v) = query.vector_for(&spec.model) {
        if v.len() != spec.dimension {
            return Err(Error::DimensionMismatch {
                field: "query.vector".into(),
                expected: spec.dimension,
                actual: v.len(),
            });
        }
        return Ok(v.to_vec());
    }
    let embedder = embedder.ok_or_else(|| {
        Error::config(
            "embedder",
            "dense search needs an embedder for the query, or a query vector from a transform",
        )
    })?;
    embedder.embed_one(&query.text, EmbedInput::QUERY).await
}
