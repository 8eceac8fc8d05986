//! Conversation memory.

use async_trait::async_trait;

use crate::error::Result;
use crate::message::ChatMessage;
use crate::query::Query;

/// Remembers conversations and recalls what matters for the next query.
#[async_trait]
pub trait Memory: Send + Sync {
    /// Short name for traces and errors, e.g. `window`.
    fn name(&self) -> &str;

    /// Messages of `conversation` worth showing the generator for `query`, oldest first.
    async fn load(&self, conversation: &str, query: &Query) -> Result<Vec<ChatMessage>>;

    /// Records one exchange of `conversation`.
    async fn save(
        &self,
        conversation: &str,
        user: ChatMessage,
        assistant: ChatMessage,
    ) -> Result<()>;
}
