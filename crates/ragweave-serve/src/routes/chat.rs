//! `POST /v1/chat/completions`: the pipeline's answer with citations, or a generator's plain
//! chat; whole or streamed as server-sent events.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use ragweave_core::{
    Answer, AskEvent, AskRequest, ChatMessage, Error, GenerateRequest, Generator, Query, Role,
    SamplingParams,
};

use crate::api::{
    ChatChoice, ChatChunk, ChatCompletion, ChatMessageIn, ChatMessageOut, ChatRequest, ChunkChoice,
    CitationOut, ContentIn, Delta, StopIn, Usage,
};
use crate::error::{ApiError, JsonBody};
use crate::metrics::Metrics;
use crate::state::AppState;

/// What the generation stream yields, whichever model answers.
enum Out {
    Token(String),
    Done(Option<Vec<CitationOut>>),
}

type OutStream = BoxStream<'static, Result<Out, Error>>;

pub(crate) async fn complete(
    State(state): State<Arc<AppState>>,
    JsonBody(request): JsonBody<ChatRequest>,
) -> Result<Response, ApiError> {
    if request.n.is_some_and(|n| n != 1) {
        return Err(ApiError::invalid("n", "only n = 1 is served"));
    }
    let mut messages = messages(&request.messages)?;
    let params = sampling(state.default_sampling(), &request)?;
    let reply = Reply {
        id: format!("chatcmpl-{:x}", nanos()),
        created: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        model: request.model.clone(),
        max_tokens: params.max_tokens,
        include_usage: request
            .stream_options
            .as_ref()
            .is_some_and(|o| o.include_usage),
    };
    let outs =
        if request.model == state.options.model && state.served.built.pipeline.has_generator() {
            let Some(ChatMessage {
                role: Role::User,
                content: question,
            }) = messages.pop()
            else {
                return Err(ApiError::invalid(
                    "messages",
                    "the last message must be the user's question",
                ));
            };
            let passages = request.passages.unwrap_or(5);
            if passages == 0 || passages > state.options.max_top_k {
                return Err(ApiError::invalid(
                    "passages",
                    format!("must be 1 to {}", state.options.max_top_k),
                ));
            }
            let mut query = Query::new(question).top_k(passages);
            query.filter = request.filter;
            let ask = AskRequest::from(query).history(messages).sampling(params);
            answer(state.served.built.pipeline.ask_stream(ask)).await?
        } else if let Some(generator) = state.served.generator(&request.model) {
            chat(generator.as_ref(), GenerateRequest { messages, params }).await?
        } else {
            return Err(state.unknown_model(&request.model));
        };
    if request.stream {
        Ok(stream(reply, outs, state.metrics.clone()))
    } else {
        whole(reply, outs, &state.metrics).await
    }
}

/// OpenAI messages as ragweave's, naming the one at fault.
fn messages(input: &[ChatMessageIn]) -> Result<Vec<ChatMessage>, ApiError> {
    if input.is_empty() {
        return Err(ApiError::invalid("messages", "is empty"));
    }
    input
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let role = match m.role.as_str() {
                "system" | "developer" => Role::System,
                "user" => Role::User,
                "assistant" => Role::Assistant,
                other => {
                    return Err(ApiError::invalid(
                        format!("messages[{i}].role"),
                        format!("`{other}` is not served; use system, user or assistant"),
                    ));
                }
            };
            let content = match &m.content {
                ContentIn::Text(t) => t.clone(),
                ContentIn::Parts(parts) => {
                    let mut text = Vec::with_capacity(parts.len());
                    for (j, p) in parts.iter().enumerate() {
                        match (p.kind.as_str(), &p.text) {
                            ("text", Some(t)) => text.push(t.as_str()),
                            (kind, _) => {
                                return Err(ApiError::invalid(
                                    format!("messages[{i}].content[{j}]"),
                                    format!(
                                        "a `{kind}` part without text is not served; send text"
                                    ),
                                ));
                            }
                        }
                    }
                    text.join("\n")
                }
            };
            if role == Role::User && content.trim().is_empty() {
                return Err(ApiError::invalid(
                    format!("messages[{i}].content"),
                    "is blank",
                ));
            }
            Ok(ChatMessage { role, content })
        })
        .collect()
}

/// The pipeline's sampling with the request's choices over it.
fn sampling(mut p: SamplingParams, r: &ChatRequest) -> Result<SamplingParams, ApiError> {
    if let Some(n) = r.max_completion_tokens.or(r.max_tokens) {
        p.max_tokens = n;
    }
    p.temperature = r.temperature.unwrap_or(p.temperature);
    p.top_p = r.top_p.or(p.top_p);
    p.top_k = r.top_k.or(p.top_k);
    p.min_p = r.min_p.or(p.min_p);
    p.seed = r.seed.or(p.seed);
    p.repeat_penalty = r.repeat_penalty.or(p.repeat_penalty);
    match &r.stop {
        Some(StopIn::One(s)) => p.stop = vec![s.clone()],
        Some(StopIn::Many(s)) => p.stop = s.clone(),
        None => {}
    }
    p.validate().map_err(|e| match e {
        // The request's field names, not the config's.
        Error::InvalidInput { field, reason } => {
            ApiError::invalid(field.trim_start_matches("sampling.").to_string(), reason)
        }
        other => other.into(),
    })?;
    Ok(p)
}

/// Starts the pipeline; an error before the first token (a bad query, a failed retrieval)
/// is the reply's status rather than an event inside a 200 stream.
async fn answer(
    mut events: BoxStream<'static, Result<AskEvent, Error>>,
) -> Result<OutStream, ApiError> {
    match events.next().await {
        Some(Ok(AskEvent::Hits(_))) => {}
        Some(Err(e)) => return Err(e.into()),
        _ => return Err(Error::component("pipeline", "did not start with its hits").into()),
    }
    Ok(events
        .filter_map(|event| async move {
            match event {
                Ok(AskEvent::Hits(_)) => None,
                Ok(AskEvent::Token(t)) => Some(Ok(Out::Token(t))),
                Ok(AskEvent::Done(answer)) => Some(Ok(Out::Done(Some(citations(answer))))),
                Err(e) => Some(Err(e)),
            }
        })
        .boxed())
}

async fn chat(generator: &dyn Generator, request: GenerateRequest) -> Result<OutStream, ApiError> {
    let tokens = generator.stream(&request).await?;
    Ok(tokens
        .map(|t| t.map(Out::Token))
        .chain(futures::stream::once(async { Ok(Out::Done(None)) }))
        .boxed())
}

fn citations(answer: Answer) -> Vec<CitationOut> {
    answer
        .citations
        .iter()
        .map(|c| {
            let hit = answer.hits.iter().find(|h| h.chunk.id == c.chunk_id);
            CitationOut {
                index: c.index,
                chunk_id: c.chunk_id.clone(),
                document_id: c.document_id.clone(),
                text: hit.map(|h| h.chunk.text.clone()).unwrap_or_default(),
                score: hit.map_or(0.0, |h| h.score),
            }
        })
        .collect()
}

/// What every chunk of one reply shares.
struct Reply {
    id: String,
    created: u64,
    model: String,
    max_tokens: usize,
    include_usage: bool,
}

impl Reply {
    fn finish_reason(&self, tokens: usize) -> &'static str {
        if tokens >= self.max_tokens {
            "length"
        } else {
            "stop"
        }
    }

    fn chunk(&self, delta: Delta, finish: Option<&'static str>) -> ChatChunk {
        ChatChunk {
            id: self.id.clone(),
            object: "chat.completion.chunk",
            created: self.created,
            model: self.model.clone(),
            choices: vec![ChunkChoice {
                index: 0,
                delta,
                finish_reason: finish,
            }],
            usage: None,
            citations: None,
        }
    }
}

async fn whole(reply: Reply, mut outs: OutStream, metrics: &Metrics) -> Result<Response, ApiError> {
    let mut text = String::new();
    let mut tokens = 0;
    let mut cited = Vec::new();
    while let Some(out) = outs.next().await {
        match out? {
            Out::Token(t) => {
                text.push_str(&t);
                tokens += 1;
                metrics.token();
            }
            Out::Done(c) => cited = c.unwrap_or_default(),
        }
    }
    Ok(axum::Json(ChatCompletion {
        id: reply.id.clone(),
        object: "chat.completion",
        created: reply.created,
        model: reply.model.clone(),
        choices: vec![ChatChoice {
            index: 0,
            message: ChatMessageOut {
                role: "assistant",
                content: text,
            },
            finish_reason: reply.finish_reason(tokens),
        }],
        usage: Usage::generated(tokens),
        citations: cited,
    })
    .into_response())
}

/// Counts a generation as active until it ends, and as cancelled if its stream is dropped
/// (the client went away) before then: dropping it drops the generator's stream, which stops
/// decoding.
struct Generation {
    metrics: Arc<Metrics>,
    ended: bool,
}

impl Generation {
    fn start(metrics: Arc<Metrics>) -> Self {
        metrics.stream_started();
        Self {
            metrics,
            ended: false,
        }
    }
}

impl Drop for Generation {
    fn drop(&mut self) {
        self.metrics.stream_ended(!self.ended);
    }
}

struct Streaming {
    reply: Reply,
    outs: OutStream,
    tokens: usize,
    generation: Generation,
    opened: bool,
}

fn stream(reply: Reply, outs: OutStream, metrics: Arc<Metrics>) -> Response {
    let state = Streaming {
        reply,
        outs,
        tokens: 0,
        generation: Generation::start(metrics),
        opened: false,
    };
    let frames = futures::stream::unfold(state, |mut s| async move {
        if s.generation.ended {
            return None;
        }
        if !s.opened {
            s.opened = true;
            let delta = Delta {
                role: Some("assistant"),
                content: Some(String::new()),
            };
            let first = event(&s.reply.chunk(delta, None));
            return Some((first, s));
        }
        let frame = match s.outs.next().await {
            Some(Ok(Out::Token(t))) => {
                s.tokens += 1;
                s.generation.metrics.token();
                let delta = Delta {
                    role: None,
                    content: Some(t),
                };
                return Some((event(&s.reply.chunk(delta, None)), s));
            }
            Some(Ok(Out::Done(cited))) => {
                let mut last = s
                    .reply
                    .chunk(Delta::default(), Some(s.reply.finish_reason(s.tokens)));
                last.citations = cited;
                let mut frame = event(&last).to_vec();
                if s.reply.include_usage {
                    let mut usage = s.reply.chunk(Delta::default(), None);
                    usage.choices.clear();
                    usage.usage = Some(Usage::generated(s.tokens));
                    frame.extend_from_slice(&event(&usage));
                }
                frame.extend_from_slice(b"data: [DONE]\n\n");
                Bytes::from(frame)
            }
            Some(Err(e)) => event(&ApiError::from(e).body()),
            None => Bytes::from_static(b"data: [DONE]\n\n"),
        };
        s.generation.ended = true;
        Some((frame, s))
    });
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(frames.map(Ok::<_, std::convert::Infallible>)),
    )
        .into_response()
}

fn event<T: serde::Serialize>(value: &T) -> Bytes {
    let json = serde_json::to_string(value).expect("replies serialize");
    Bytes::from(format!("data: {json}\n\n"))
}

fn nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}
