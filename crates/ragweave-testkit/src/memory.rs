//! Conformance of a [`Memory`].

use ragweave_core::{ChatMessage, Memory, Query};

use crate::{Report, ensure};

/// Checks: a saved exchange is recalled in order; conversations are kept apart; an
/// unknown conversation recalls nothing.
pub async fn check(memory: &dyn Memory) -> Report {
    let mut r = Report::new("memory");
    let q = Query::new("what did I say?");
    let save = async {
        memory
            .save(
                "conv-1",
                ChatMessage::user("my name is Ada"),
                ChatMessage::assistant("hello Ada"),
            )
            .await
            .map_err(|e| e.report().to_string())?;
        memory
            .save(
                "conv-2",
                ChatMessage::user("other"),
                ChatMessage::assistant("thread"),
            )
            .await
            .map_err(|e| e.report().to_string())?;
        let got = memory
            .load("conv-1", &q)
            .await
            .map_err(|e| e.report().to_string())?;
        let texts: Vec<&str> = got.iter().map(|m| m.content.as_str()).collect();
        ensure(texts == ["my name is Ada", "hello Ada"], || {
            format!("recalled {texts:?}")
        })
    };
    r.check(
        "recalls a saved exchange in order, per conversation",
        save.await,
    );
    r.check(
        "unknown conversation recalls nothing",
        match memory.load("never-seen", &q).await {
            Ok(m) => ensure(m.is_empty(), || format!("{} messages", m.len())),
            Err(e) => Err(e.report().to_string()),
        },
    );
    r
}
