//! What a pipeline returns: the answer text, its citations, the hits and a trace.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::types::Hit;

/// The result of [`crate::Pipeline::ask`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Answer {
    /// Generated text; empty for a retrieval-only pipeline.
    pub text: String,
    /// Passages the prompt showed the generator, in prompt order; `[n]` in the text refers
    /// to `citations[n - 1]`.
    pub citations: Vec<Citation>,
    /// The hits after fusion and reranking, best first (before the arranger reorders them).
    pub hits: Vec<Hit>,
    /// How long each stage took, and what it noted.
    pub trace: Trace,
}

/// A passage shown to the generator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Citation {
    /// 1-based marker used in the prompt, `[index]`.
    pub index: usize,
    /// The chunk id.
    pub chunk_id: String,
    /// The document the chunk belongs to.
    pub document_id: String,
}

/// Per-stage timings and notes of one pipeline run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Trace {
    /// Stages in the order they finished.
    pub stages: Vec<StageTrace>,
}

/// One stage's record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageTrace {
    /// Stage name, e.g. `transform:think`, `retrieve:bm25`, `generate`.
    pub name: String,
    /// Wall time spent in the stage.
    #[serde(with = "micros")]
    pub duration: Duration,
    /// What the stage wants a reader to see: generated thoughts, routing weights, errors of
    /// experts that were skipped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Trace {
    /// Appends a stage record.
    pub fn record(&mut self, name: impl Into<String>, duration: Duration, notes: Vec<String>) {
        self.stages.push(StageTrace {
            name: name.into(),
            duration,
            notes,
        });
    }

    /// Adds notes to the stage recorded last.
    pub(crate) fn annotate_last(&mut self, notes: Vec<String>) {
        if let Some(last) = self.stages.last_mut() {
            last.notes.extend(notes);
        }
    }

    /// The first stage with this name.
    pub fn stage(&self, name: &str) -> Option<&StageTrace> {
        self.stages.iter().find(|s| s.name == name)
    }

    /// Sum of all stage durations.
    pub fn total(&self) -> Duration {
        self.stages.iter().map(|s| s.duration).sum()
    }
}

mod micros {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_micros() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_micros(u64::deserialize(d)?))
    }
}
