//! Conversation memory that keeps the most recent messages within a token budget.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::message::ChatMessage;
use crate::query::Query;
use crate::traits::memory::Memory;
use crate::traits::token_counter::{ApproxTokenCounter, TokenCounter};

/// How much a [`WindowMemory`] keeps, beside its token budget: also fields of the `window`
/// memory kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct WindowLimits {
    /// Messages kept per conversation (at least 2).
    pub max_messages: usize,
    /// Conversations kept (least recently used dropped first; at least 1).
    pub max_conversations: usize,
}

impl Default for WindowLimits {
    /// 64 messages per conversation, 10,000 conversations.
    fn default() -> Self {
        Self {
            max_messages: 64,
            max_conversations: 10_000,
        }
    }
}

/// Recalls the latest messages of a conversation that fit in `max_tokens`.
///
/// Memory stays bounded: each conversation keeps at most `max_messages`, and at most
/// `max_conversations` are kept, the least recently used dropped first.
pub struct WindowMemory {
    max_tokens: usize,
    limits: WindowLimits,
    counter: Arc<dyn TokenCounter>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    conversations: HashMap<String, (u64, VecDeque<ChatMessage>)>,
    clock: u64,
}

impl WindowMemory {
    /// Recalls up to `max_tokens` tokens, within [`WindowLimits::default`].
    pub fn new(max_tokens: usize) -> Self {
        Self::with_limits(max_tokens, WindowLimits::default())
    }

    /// Recalls up to `max_tokens` tokens, keeping what `limits` allow.
    pub fn with_limits(max_tokens: usize, limits: WindowLimits) -> Self {
        Self {
            max_tokens,
            limits: WindowLimits {
                max_messages: limits.max_messages.max(2),
                max_conversations: limits.max_conversations.max(1),
            },
            counter: Arc::new(ApproxTokenCounter),
            state: Mutex::new(State::default()),
        }
    }

    /// Most messages kept per conversation.
    pub fn max_messages(mut self, n: usize) -> Self {
        self.limits.max_messages = n.max(2);
        self
    }

    /// Most conversations kept.
    pub fn max_conversations(mut self, n: usize) -> Self {
        self.limits.max_conversations = n.max(1);
        self
    }

    /// Counts tokens with `counter` (the generator's tokenizer, ideally).
    pub fn counter(mut self, counter: Arc<dyn TokenCounter>) -> Self {
        self.counter = counter;
        self
    }

    /// Number of conversations held.
    pub fn conversations(&self) -> usize {
        self.state.lock().expect("memory lock").conversations.len()
    }
}

#[async_trait]
impl Memory for WindowMemory {
    fn name(&self) -> &str {
        "window"
    }

    async fn load(&self, conversation: &str, _query: &Query) -> Result<Vec<ChatMessage>> {
        let mut state = self.state.lock().expect("memory lock");
        state.clock += 1;
        let now = state.clock;
        let Some((used, messages)) = state.conversations.get_mut(conversation) else {
            return Ok(Vec::new());
        };
        *used = now;
        let mut budget = self.max_tokens;
        let mut recalled: Vec<ChatMessage> = Vec::new();
        for m in messages.iter().rev() {
            let cost = self.counter.count(&m.content);
            if cost > budget {
                break;
            }
            budget -= cost;
            recalled.push(m.clone());
        }
        recalled.reverse();
        Ok(recalled)
    }

    async fn save(
        &self,
        conversation: &str,
        user: ChatMessage,
        assistant: ChatMessage,
    ) -> Result<()> {
        if conversation.is_empty() {
            return Err(Error::invalid("conversation", "conversation id is empty"));
        }
        let mut state = self.state.lock().expect("memory lock");
        state.clock += 1;
        let now = state.clock;
        if !state.conversations.contains_key(conversation)
            && state.conversations.len() >= self.limits.max_conversations
            && let Some(oldest) = state
                .conversations
                .iter()
                .min_by_key(|(_, (used, _))| *used)
                .map(|(k, _)| k.clone())
        {
            state.conversations.remove(&oldest);
        }
        let (used, messages) = state
            .conversations
            .entry(conversation.to_string())
            .or_default();
        *used = now;
        messages.push_back(user);
        messages.push_back(assistant);
        while messages.len() > self.limits.max_messages {
            messages.pop_front();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn recalls_latest_messages_within_budget() {
        // ApproxTokenCounter: "six seven" and "four five" cost 3 each, "three" 2, "one two" 2.
        let m = WindowMemory::new(8);
        let q = Query::new("q");
        m.save(
            "c",
            ChatMessage::user("one two"),
            ChatMessage::assistant("three"),
        )
        .await
        .unwrap();
        m.save(
            "c",
            ChatMessage::user("four five"),
            ChatMessage::assistant("six seven"),
        )
        .await
        .unwrap();
        let got = m.load("c", &q).await.unwrap();
        let texts: Vec<_> = got.iter().map(|m| m.content.as_str()).collect();
        assert_eq!(
            texts,
            ["three", "four five", "six seven"],
            "8 tokens hold the last three; the oldest is dropped"
        );
        assert!(m.load("other", &q).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn stays_bounded() {
        let m = WindowMemory::new(1000).max_messages(4).max_conversations(2);
        for i in 0..5 {
            m.save(
                "a",
                ChatMessage::user(format!("u{i}")),
                ChatMessage::assistant("a"),
            )
            .await
            .unwrap();
        }
        assert_eq!(m.load("a", &Query::new("q")).await.unwrap().len(), 4);
        m.save("b", ChatMessage::user("x"), ChatMessage::assistant("y"))
            .await
            .unwrap();
        m.load("a", &Query::new("q")).await.unwrap(); // a is now most recent
        m.save("c", ChatMessage::user("x"), ChatMessage::assistant("y"))
            .await
            .unwrap();
        assert_eq!(m.conversations(), 2);
        assert!(
            m.load("b", &Query::new("q")).await.unwrap().is_empty(),
            "b was evicted"
        );
        assert!(
            m.save("", ChatMessage::user("x"), ChatMessage::assistant("y"))
                .await
                .is_err()
        );
    }
}
