//! # ragweave-testkit
//!
//! Conformance suites for plugin authors, one line per trait:
//!
//! ```
//! # use ragweave_core::HashingEmbedder;
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! ragweave_testkit::embedder::check(&HashingEmbedder::new(64)).await.assert_passed();
//! # }
//! ```
//!
//! Each suite returns a [`Report`] naming every check that failed and why, so a plugin's test
//! shows all its problems at once. The [`fixtures`] module has small components for tests
//! of composition logic (never evidence that an engine works).

#![warn(missing_docs)]

pub mod datasets;
pub mod embedder;
pub mod fixtures;
pub mod generator;
pub mod gguf;
pub mod hf;
pub mod memory;
pub mod models;
pub mod qdrant;
pub mod reranker;
pub mod retriever;
pub mod store;

/// The outcome of a conformance suite.
#[derive(Debug, Default, Clone)]
#[must_use = "call .assert_passed() so failures fail the test"]
pub struct Report {
    /// Suite name.
    pub suite: &'static str,
    /// Checks that passed.
    pub passed: Vec<&'static str>,
    /// Checks that failed, with what was wrong.
    pub failed: Vec<(&'static str, String)>,
}

impl Report {
    pub(crate) fn new(suite: &'static str) -> Self {
        Self {
            suite,
            ..Self::default()
        }
    }

    /// Records one check.
    pub(crate) fn check(&mut self, name: &'static str, outcome: Result<(), String>) {
        match outcome {
            Ok(()) => self.passed.push(name),
            Err(why) => self.failed.push((name, why)),
        }
    }

    /// Whether a check of this name failed.
    pub fn failed(&self, name: &str) -> bool {
        self.failed.iter().any(|(n, _)| *n == name)
    }

    /// Panics with every failure listed, unless all checks passed.
    pub fn assert_passed(&self) {
        if !self.failed.is_empty() {
            let lines: Vec<String> = self
                .failed
                .iter()
                .map(|(n, why)| format!("  - {n}: {why}"))
                .collect();
            panic!(
                "{} conformance: {} of {} checks failed\n{}",
                self.suite,
                self.failed.len(),
                self.failed.len() + self.passed.len(),
                lines.join("\n")
            );
        }
    }
}

/// Fails with `msg` unless `cond`.
pub(crate) fn ensure(cond: bool, msg: impl FnOnce() -> String) -> Result<(), String> {
    if cond { Ok(()) } else { Err(msg()) }
}
