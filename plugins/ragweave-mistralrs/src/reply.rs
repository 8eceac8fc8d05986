//! A streamed chat reply from the engine, as text pieces with stop sequences applied.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use mistralrs::{CustomLogitsProcessor, Request, Response, Tensor};
use ragweave_core::{FinishReason, StopMatcher};
use tokio::sync::mpsc::{Receiver, Sender};

use crate::error::MistralRsError;

/// One step of a reply.
#[derive(Debug)]
pub(crate) enum Step {
    /// Text to pass on (possibly empty).
    Piece(String),
    /// The reply ended.
    Done {
        /// Why.
        reason: FinishReason,
        /// Tokens generated.
        tokens: usize,
    },
}

/// Counts the tokens mistral.rs samples for one request: it runs once per sampling step.
///
/// mistral.rs sends a chunk only when the text so far ends in whole UTF-8 characters, and
/// when the last token leaves a character incomplete it ends the stream without its final
/// chunk; the count then still says how many tokens there were and whether the limit was hit.
#[derive(Default)]
pub(crate) struct TokenCounter(AtomicUsize);

impl TokenCounter {
    fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

impl CustomLogitsProcessor for TokenCounter {
    fn apply(&self, logits: &Tensor, _context: &[u32]) -> mistralrs::Result<Tensor> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(logits.clone())
    }
}

/// Reads the engine's chunks. Dropping it drops the receiver, and mistral.rs cancels the
/// sequence when its next chunk cannot be delivered.
pub(crate) struct Reply {
    rx: Receiver<Response>,
    engine: Sender<Request>,
    sampled: Arc<TokenCounter>,
    max_tokens: usize,
    stops: StopMatcher,
    chunks: usize,
    queued: VecDeque<Step>,
    finished: bool,
}

impl Reply {
    /// `engine` is the model's request channel, to tell a finished stream from a dead engine.
    pub fn new(
        rx: Receiver<Response>,
        engine: Sender<Request>,
        sampled: Arc<TokenCounter>,
        max_tokens: usize,
        stops: &[String],
    ) -> Self {
        Self {
            rx,
            engine,
            sampled,
            max_tokens,
            stops: StopMatcher::new(stops),
            chunks: 0,
            queued: VecDeque::new(),
            finished: false,
        }
    }

    /// The next step; `None` after [`Step::Done`] or an error.
    pub async fn next(&mut self) -> Option<Result<Step, MistralRsError>> {
        if let Some(step) = self.queued.pop_front() {
            return Some(Ok(step));
        }
        if self.finished {
            return None;
        }
        let response = self.rx.recv().await;
        let outcome = self.read(response);
        if outcome.is_err() {
            self.finished = true;
        }
        Some(outcome)
    }

    fn read(&mut self, response: Option<Response>) -> Result<Step, MistralRsError> {
        let chunk = match response {
            None if self.engine.is_closed() => return Err(MistralRsError::EngineStopped),
            None => return Ok(self.ended_without_final_chunk()),
            Some(Response::Chunk(chunk)) => chunk,
            Some(Response::ValidationError(e)) => {
                return Err(MistralRsError::Rejected(e.to_string()));
            }
            Some(Response::InternalError(e)) => return Err(MistralRsError::Engine(e.to_string())),
            Some(Response::ModelError(message, _)) => return Err(MistralRsError::Engine(message)),
            Some(_) => {
                return Err(MistralRsError::Engine(
                    "unexpected response to a streaming chat request".into(),
                ));
            }
        };
        self.chunks += 1;
        let Some(choice) = chunk.choices.into_iter().next() else {
            return Ok(Step::Piece(String::new()));
        };
        let step = self
            .stops
            .push(choice.delta.content.as_deref().unwrap_or(""));
        let mut text = step.emit;
        let finish = if step.stopped {
            Some(FinishReason::Stop)
        } else {
            choice.finish_reason.as_deref().map(|r| match r {
                "length" => FinishReason::Length,
                _ => FinishReason::Stop,
            })
        };
        let Some(reason) = finish else {
            return Ok(Step::Piece(text));
        };
        if !step.stopped {
            // Text held back as a possible stop sequence was not one: it goes out with the
            // last piece rather than as an extra one.
            text.push_str(&self.stops.finish());
        }
        let tokens = match (&chunk.usage, step.stopped) {
            (Some(usage), false) => usage.completion_tokens,
            _ => self.chunks,
        };
        self.finished = true;
        self.queued.push_back(Step::Done { reason, tokens });
        Ok(Step::Piece(text))
    }

    /// The engine is alive but closed the stream: the last token left a character
    /// incomplete (see [`TokenCounter`]); mistral.rs drops those bytes, as it does when the
    /// final chunk comes.
    fn ended_without_final_chunk(&mut self) -> Step {
        let tokens = self.sampled.get();
        let reason = if tokens >= self.max_tokens {
            FinishReason::Length
        } else {
            FinishReason::Stop
        };
        self.finished = true;
        self.queued.push_back(Step::Done { reason, tokens });
        Step::Piece(self.stops.finish())
    }
}
