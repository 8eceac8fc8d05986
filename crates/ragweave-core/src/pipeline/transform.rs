//! Stage 2: query transforms, in order, each one's thoughts noted in the trace.

use std::sync::Arc;

use super::stage::Stage;
use crate::answer::Trace;
use crate::error::Result;
use crate::query::Query;
use crate::traits::query_transform::QueryTransform;

/// A transform and its stage name, `transform:<name>`.
pub(crate) struct Transform {
    pub(crate) stage: String,
    pub(crate) transform: Arc<dyn QueryTransform>,
}

/// `query` after every transform.
pub(crate) async fn transformed(
    transforms: &[Transform],
    mut query: Query,
    trace: &mut Trace,
) -> Result<Query> {
    query.validate()?;
    for t in transforms {
        let before = query.thoughts.len();
        let span = tracing::info_span!("ragweave.transform", stage = %t.stage);
        query = Stage::new(&t.stage, &t.stage, span)
            .run(trace, t.transform.transform(query))
            .await?;
        trace.annotate_last(query.thoughts[before.min(query.thoughts.len())..].to_vec());
    }
    Ok(query)
}
