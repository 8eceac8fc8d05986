//! Stage 7, streamed: `ask` with the answer's tokens as they come.

use std::time::Instant;

use futures::StreamExt;
use futures::stream::BoxStream;
use serde::Serialize;
use tracing::Instrument;

use super::answering::{Output, Prompted};
use super::{AskRequest, Pipeline};
use crate::answer::Answer;
use crate::error::Result;
use crate::traits::generator::TokenStream;
use crate::types::Hit;

/// What [`Pipeline::ask_stream`] yields: the hits, then each token, then the answer.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
pub enum AskEvent {
    /// Retrieval is done: the fused, reranked hits, best first.
    Hits(Vec<Hit>),
    /// A piece of generated text.
    Token(String),
    /// Generation is done; the full answer with its trace.
    Done(Answer),
}

/// Where a stream is: each state holds exactly what comes next needs.
enum State {
    Start(Pipeline, Box<AskRequest>),
    Open(Pipeline, Box<Prompted>),
    Answered(Box<Answer>),
    Streaming {
        pipeline: Pipeline,
        prompted: Box<Prompted>,
        tokens: TokenStream,
        text: String,
        started: Instant,
        span: tracing::Span,
    },
    End,
}

fn answering(pipeline: &Pipeline) -> &super::answering::Answering {
    match &pipeline.inner.output {
        Output::Answer(a) => a,
        Output::Hits => unreachable!("a retrieval pipeline's stream never opens a generation"),
    }
}

impl Pipeline {
    /// Runs the pipeline and streams its progress. Dropping the stream cancels whatever
    /// stage is running, generation included. An error ends the stream. A pipeline that
    /// only retrieves yields its hits, then an answer with no text.
    pub fn ask_stream(
        &self,
        request: impl Into<AskRequest>,
    ) -> BoxStream<'static, Result<AskEvent>> {
        let start = State::Start(self.clone(), Box::new(request.into()));
        futures::stream::unfold(start, |state| async move {
            let (event, next) = step(state).await;
            event.map(|e| (e, next))
        })
        .boxed()
    }
}

/// The next event and the state after it.
async fn step(state: State) -> (Option<Result<AskEvent>>, State) {
    let mut state = state;
    loop {
        match state {
            State::End => return (None, State::End),
            State::Answered(answer) => return (Some(Ok(AskEvent::Done(*answer))), State::End),
            State::Start(pipeline, request) => {
                if let Err(e) = request.validate() {
                    return (Some(Err(e)), State::End);
                }
                let prompted = match &pipeline.inner.output {
                    Output::Hits => {
                        return match pipeline.ask(*request).await {
                            Ok(answer) => (
                                Some(Ok(AskEvent::Hits(answer.hits.clone()))),
                                State::Answered(Box::new(answer)),
                            ),
                            Err(e) => (Some(Err(e)), State::End),
                        };
                    }
                    Output::Answer(a) => {
                        a.prompt(
                            &pipeline.inner.retrieval,
                            &pipeline.inner.sampling,
                            *request,
                        )
                        .await
                    }
                };
                return match prompted {
                    Ok(p) => (
                        Some(Ok(AskEvent::Hits(p.hits.clone()))),
                        State::Open(pipeline, Box::new(p)),
                    ),
                    Err(e) => (Some(Err(e)), State::End),
                };
            }
            State::Open(pipeline, prompted) => {
                let started = Instant::now();
                let span = tracing::info_span!("ragweave.generate");
                let opened = answering(&pipeline)
                    .generator
                    .stream(&prompted.request)
                    .instrument(span.clone())
                    .await;
                match opened {
                    Ok(tokens) => {
                        state = State::Streaming {
                            pipeline,
                            prompted,
                            tokens,
                            text: String::new(),
                            started,
                            span,
                        }
                    }
                    Err(e) => return (Some(Err(e.in_component("generator"))), State::End),
                }
            }
            State::Streaming {
                pipeline,
                mut prompted,
                mut tokens,
                mut text,
                started,
                span,
            } => {
                return match tokens.next().instrument(span.clone()).await {
                    Some(Ok(piece)) => {
                        text.push_str(&piece);
                        let state = State::Streaming {
                            pipeline,
                            prompted,
                            tokens,
                            text,
                            started,
                            span,
                        };
                        (Some(Ok(AskEvent::Token(piece))), state)
                    }
                    Some(Err(e)) => (Some(Err(e.in_component("generator"))), State::End),
                    None => {
                        prompted
                            .trace
                            .record("generate", started.elapsed(), Vec::new());
                        let answer = answering(&pipeline).finish(*prompted, text).await;
                        (Some(answer.map(AskEvent::Done)), State::End)
                    }
                };
            }
        }
    }
}
