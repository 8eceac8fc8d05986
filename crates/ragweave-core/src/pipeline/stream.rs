//! The streaming variant of `ask`.

use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::BoxStream;
use serde::Serialize;

use super::{AskRequest, Pipeline, Prepared};
use crate::answer::Answer;
use crate::error::{Error, Result};
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

enum State {
    Start(Pipeline, AskRequest),
    Generate(Pipeline, Box<Prepared>),
    Streaming {
        pipeline: Pipeline,
        prep: Box<Prepared>,
        tokens: TokenStream,
        text: String,
        started: Instant,
        deadline: Option<(tokio::time::Instant, Duration)>,
    },
    End,
}

impl Pipeline {
    /// Runs the pipeline and streams its progress. Dropping the stream cancels whatever
    /// stage is running, generation included. An error ends the stream.
    pub fn ask_stream(
        &self,
        request: impl Into<AskRequest>,
    ) -> BoxStream<'static, Result<AskEvent>> {
        let start = State::Start(self.clone(), request.into());
        futures::stream::unfold(start, |mut state| async move {
            loop {
                match state {
                    State::End => return None,
                    State::Start(pipeline, request) => {
                        return Some(match pipeline.prepare(request).await {
                            Ok(prep) => (
                                Ok(AskEvent::Hits(prep.hits.clone())),
                                State::Generate(pipeline, Box::new(prep)),
                            ),
                            Err(e) => (Err(e), State::End),
                        });
                    }
                    State::Generate(pipeline, prep) => {
                        let (Some(generator), Some(request)) =
                            (pipeline.inner.generator.clone(), prep.request.as_ref())
                        else {
                            return Some(match pipeline.finish(*prep, String::new()).await {
                                Ok(answer) => (Ok(AskEvent::Done(answer)), State::End),
                                Err(e) => (Err(e), State::End),
                            });
                        };
                        let started = Instant::now();
                        let deadline = pipeline
                            .inner
                            .timeouts
                            .generate
                            .map(|d| (tokio::time::Instant::now() + d, d));
                        let opened = match deadline {
                            Some((at, after)) => {
                                tokio::time::timeout_at(at, generator.stream(request))
                                    .await
                                    .unwrap_or_else(|_| Err(timeout(after)))
                            }
                            None => generator.stream(request).await,
                        };
                        match opened {
                            Ok(tokens) => {
                                state = State::Streaming {
                                    pipeline,
                                    prep,
                                    tokens,
                                    text: String::new(),
                                    started,
                                    deadline,
                                }
                            }
                            Err(e) => return Some((Err(e.in_component("generator")), State::End)),
                        }
                    }
                    State::Streaming {
                        pipeline,
                        mut prep,
                        mut tokens,
                        mut text,
                        started,
                        deadline,
                    } => {
                        let next = match deadline {
                            Some((at, after)) => tokio::time::timeout_at(at, tokens.next())
                                .await
                                .unwrap_or_else(|_| Some(Err(timeout(after)))),
                            None => tokens.next().await,
                        };
                        match next {
                            Some(Ok(piece)) => {
                                text.push_str(&piece);
                                let state = State::Streaming {
                                    pipeline,
                                    prep,
                                    tokens,
                                    text,
                                    started,
                                    deadline,
                                };
                                return Some((Ok(AskEvent::Token(piece)), state));
                            }
                            Some(Err(e)) => {
                                return Some((Err(e.in_component("generator")), State::End));
                            }
                            None => {
                                prep.trace.record("generate", started.elapsed(), Vec::new());
                                return Some(match pipeline.finish(*prep, text).await {
                                    Ok(answer) => (Ok(AskEvent::Done(answer)), State::End),
                                    Err(e) => (Err(e), State::End),
                                });
                            }
                        }
                    }
                }
            }
        })
        .boxed()
    }
}

fn timeout(after: Duration) -> Error {
    Error::Timeout {
        stage: "generate".into(),
        after,
    }
}
