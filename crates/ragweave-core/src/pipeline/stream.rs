//! The streaming variant of `ask`.

use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::BoxStream;
use serde::Serialize;
use tracing::Instrument;

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
    Start(Pipeline, Box<AskRequest>),
    Generate(Pipeline, Box<Prepared>),
    Streaming {
        pipeline: Pipeline,
        prep: Box<Prepared>,
        tokens: TokenStream,
        text: String,
        started: Instant,
        deadline: Option<(tokio::time::Instant, Duration)>,
        span: tracing::Span,
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
        let start = State::Start(self.clone(), Box::new(request.into()));
        futures::stream::unfold(start, |mut state| async move {
            loop {
                match state {
                    State::End => return None,
                    State::Start(pipeline, request) => {
                        return Some(match pipeline.prepare(*request).await {
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
                        let span = tracing::info_span!("ragweave.generate");
                        let opened = by_deadline(deadline, generator.stream(request))
                            .instrument(span.clone())
                            .await
                            .and_then(std::convert::identity);
                        match opened {
                            Ok(tokens) => {
                                state = State::Streaming {
                                    pipeline,
                                    prep,
                                    tokens,
                                    text: String::new(),
                                    started,
                                    deadline,
                                    span,
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
                        span,
                    } => {
                        let next = by_deadline(deadline, tokens.next())
                            .instrument(span.clone())
                            .await
                            .unwrap_or_else(|e| Some(Err(e)));
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
                                    span,
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

/// Awaits `fut` unless generation's deadline passes first, which is a timeout error.
async fn by_deadline<T>(
    deadline: Option<(tokio::time::Instant, Duration)>,
    fut: impl std::future::Future<Output = T>,
) -> Result<T> {
    match deadline {
        Some((at, after)) => tokio::time::timeout_at(at, fut)
            .await
            .map_err(|_| Error::Timeout {
                stage: "generate".into(),
                after,
            }),
        None => Ok(fut.await),
    }
}
