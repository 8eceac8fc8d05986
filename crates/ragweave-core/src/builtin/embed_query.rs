//! Embedding the query once, before routing, for every component that needs its vector.

use std::sync::Arc;

use async_trait::async_trait;

use crate::error::Result;
use crate::query::{Query, QueryVector};
use crate::traits::embedder::{EmbedInput, Embedder};
use crate::traits::query_transform::QueryTransform;

/// Sets [`Query::vector`] to the query's embedding, unless a transform before it already set
/// one for this embedder. A pilot router and every dense expert on the same model then use
/// that vector instead of each embedding the text again.
///
/// ```
/// # use std::sync::Arc;
/// # use ragweave_core::{EmbedQuery, HashingEmbedder, Query, QueryTransform, Embedder};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> ragweave_core::Result<()> {
/// let embedder = Arc::new(HashingEmbedder::new(64));
/// let query = EmbedQuery::new(embedder.clone()).transform(Query::new("pilot")).await?;
/// assert!(query.vector_for(embedder.model_id()).is_some());
/// # Ok(()) }
/// ```
pub struct EmbedQuery {
    embedder: Arc<dyn Embedder>,
}

impl EmbedQuery {
    /// Embeds queries with `embedder`.
    pub fn new(embedder: Arc<dyn Embedder>) -> Self {
        Self { embedder }
    }
}

#[async_trait]
impl QueryTransform for EmbedQuery {
    fn name(&self) -> &str {
        "embed"
    }

    async fn transform(&self, mut query: Query) -> Result<Query> {
        let model = self.embedder.model_id();
        if query.vector_for(model).is_none() {
            let values = self
                .embedder
                .embed_one(&query.text, EmbedInput::QUERY)
                .await?;
            query.vector = Some(QueryVector {
                model: model.to_string(),
                values,
            });
        }
        Ok(query)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::builtin::hashing_embedder::HashingEmbedder;
    use crate::{PilotRouter, Router};

    /// Counts the texts it embeds.
    struct Counting(HashingEmbedder, AtomicUsize);

    #[async_trait]
    impl Embedder for Counting {
        fn name(&self) -> &str {
            "counting"
        }

        fn model_id(&self) -> &str {
            self.0.model_id()
        }
        fn dimension(&self) -> usize {
            self.0.dimension()
        }
        async fn embed(&self, texts: &[String], input: EmbedInput<'_>) -> Result<Vec<Vec<f32>>> {
            self.1.fetch_add(texts.len(), Ordering::Relaxed);
            self.0.embed(texts, input).await
        }
    }

    #[tokio::test]
    async fn the_router_uses_the_embedded_vector_instead_of_embedding_again() {
        let embedder = Arc::new(Counting(HashingEmbedder::new(64), AtomicUsize::new(0)));
        let router = PilotRouter::new(embedder.clone());
        router
            .add_expert_from_queries("bio", &["gene expression"])
            .await
            .unwrap();
        router
            .add_expert_from_queries("law", &["court ruling"])
            .await
            .unwrap();
        let experts = ["bio".to_string(), "law".to_string()];
        let before = embedder.1.load(Ordering::Relaxed);
        let query = EmbedQuery::new(embedder.clone())
            .transform(Query::new("gene expression in yeast"))
            .await
            .unwrap();
        let routes = router.route(&query, &experts).await.unwrap();
        assert_eq!(routes[0].expert, "bio");
        assert_eq!(
            embedder.1.load(Ordering::Relaxed) - before,
            1,
            "one embedding"
        );
        // A second transform on the same model keeps the vector it finds.
        let again = EmbedQuery::new(embedder.clone())
            .transform(query)
            .await
            .unwrap();
        assert_eq!(embedder.1.load(Ordering::Relaxed) - before, 1);
        // Without the transform, the router embeds by itself.
        router
            .route(&Query::new("court ruling"), &experts)
            .await
            .unwrap();
        assert_eq!(embedder.1.load(Ordering::Relaxed) - before, 2);
        assert!(again.vector.is_some());
    }
}
