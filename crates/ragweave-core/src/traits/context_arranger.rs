//! Orders and trims hits for the prompt.

use crate::query::Query;
use crate::types::Hit;

/// Decides which hits go into the prompt, and in which order, within a token budget.
///
/// It is synchronous on purpose: arranging is pure computation over hits already in
/// memory, and the pipeline calls it on the hot path.
pub trait ContextArranger: Send + Sync {
    /// Short name for the trace and errors, e.g. `long_context_reorder`.
    fn name(&self) -> &str;

    /// Takes hits best first, returns them in prompt order.
    fn arrange(&self, query: &Query, hits: Vec<Hit>) -> Vec<Hit>;
}
