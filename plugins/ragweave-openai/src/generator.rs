//! A [`Generator`] over `POST /chat/completions`, streamed with server-sent events.

use std::collections::VecDeque;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use ragweave_core::{
    Completion, FinishReason, GenerateRequest, Generator, Result, StopMatcher, TokenStream,
};

use crate::client::{Client, transport};
use crate::error::OpenAiError;
use crate::options::OpenAiOptions;
use crate::wire::{ChatChunk, ChatCompletion, ChatRequest};

/// Chat completions from an OpenAI-compatible server: vLLM, llama-server, Ollama, OpenAI,
/// or another `ragweave serve`.
///
/// Stop sequences are sent to the server and also applied here, and at most `max_tokens`
/// streamed deltas are taken, so the [`Generator`] contract holds whatever the server does.
/// Dropping the stream closes the connection; servers that watch for that (llama-server,
/// vLLM, `ragweave serve`) stop generating.
///
/// ```no_run
/// use ragweave_core::{GenerateRequest, Generator};
/// use ragweave_openai::{OpenAiGenerator, OpenAiOptions};
///
/// # async fn run() -> ragweave_core::Result<()> {
/// // The key, if any, comes from $OPENAI_API_KEY (`api_key_env`).
/// let llm = OpenAiGenerator::new(
///     "qwen2.5-0.5b-instruct",
///     OpenAiOptions::at("http://localhost:8080/v1"),
/// )?;
/// let answer = llm.complete(&GenerateRequest::user("Name a river.")).await?;
/// println!("{}", answer.text);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct OpenAiGenerator {
    client: Client,
    timeout: Duration,
}

impl OpenAiGenerator {
    /// A generator for `model` at `options.base_url`. Nothing is sent until the first
    /// request.
    pub fn new(model: &str, options: OpenAiOptions) -> std::result::Result<Self, OpenAiError> {
        Ok(Self {
            client: Client::new(model, &options)?,
            timeout: options.timeout,
        })
    }

    /// The model asked for.
    pub fn model(&self) -> &str {
        &self.client.model
    }
}

#[async_trait]
impl Generator for OpenAiGenerator {
    fn name(&self) -> &str {
        "openai"
    }

    async fn stream(&self, request: &GenerateRequest) -> Result<TokenStream> {
        request.params.validate()?;
        let body = ChatRequest::new(&self.client.model, request, true);
        let response = self.client.open("chat/completions", &body).await?;
        let url = self.client.url("chat/completions");
        Ok(Tokens::new(
            response.bytes_stream().boxed(),
            url,
            self.timeout,
            request.params.max_tokens,
            &request.params.stop,
        )
        .into_stream())
    }

    async fn complete(&self, request: &GenerateRequest) -> Result<Completion> {
        request.params.validate()?;
        let body = ChatRequest::new(&self.client.model, request, false);
        let reply: ChatCompletion = self.client.call("chat/completions", &body).await?;
        let url = self.client.url("chat/completions");
        let choice = reply
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| OpenAiError::Decode {
                url,
                reason: "the completion has no choices".into(),
            })?;
        let mut text = choice.message.content.unwrap_or_default();
        let stopped = cut_at_stop(&mut text, &request.params.stop);
        let finish_reason = match choice.finish_reason.as_deref() {
            Some("length") if !stopped => FinishReason::Length,
            _ => FinishReason::Stop,
        };
        // A server that reports no usage leaves only an estimate: its words.
        let tokens = reply
            .usage
            .and_then(|u| u.completion_tokens)
            .unwrap_or_else(|| text.split_whitespace().count());
        Ok(Completion {
            text,
            finish_reason,
            tokens,
        })
    }
}

/// Cuts `text` before its earliest stop sequence; whether it did.
fn cut_at_stop(text: &mut String, stops: &[String]) -> bool {
    match stops.iter().filter_map(|s| text.find(s.as_str())).min() {
        Some(at) => {
            text.truncate(at);
            true
        }
        None => false,
    }
}

/// The state of a streamed reply: bytes in, tokens out.
struct Tokens {
    bytes: BoxStream<'static, reqwest::Result<Bytes>>,
    sse: crate::sse::SseDecoder,
    events: VecDeque<String>,
    stop: StopMatcher,
    /// The last piece, held until the next one arrives so that what the stop matcher still
    /// holds at the end joins it instead of making an extra piece.
    held: Option<String>,
    tokens: usize,
    max_tokens: usize,
    url: String,
    timeout: Duration,
    ended: bool,
}

impl Tokens {
    fn new(
        bytes: BoxStream<'static, reqwest::Result<Bytes>>,
        url: String,
        timeout: Duration,
        max_tokens: usize,
        stop: &[String],
    ) -> Self {
        Self {
            bytes,
            sse: Default::default(),
            events: VecDeque::new(),
            stop: StopMatcher::new(stop),
            held: None,
            tokens: 0,
            max_tokens,
            url,
            timeout,
            ended: false,
        }
    }

    fn into_stream(self) -> TokenStream {
        futures::stream::unfold(self, |mut s| async move {
            s.next_piece().await.map(|piece| (piece, s))
        })
        .boxed()
    }

    async fn next_piece(&mut self) -> Option<Result<String>> {
        loop {
            if self.ended {
                return self.held.take().map(Ok);
            }
            let data = match self.next_event().await {
                Ok(Some(data)) => data,
                Ok(None) => {
                    self.end(false);
                    continue;
                }
                Err(e) => {
                    self.ended = true;
                    self.held = None;
                    return Some(Err(e.into()));
                }
            };
            if data.trim() == "[DONE]" {
                self.end(false);
                continue;
            }
            let token = match self.token(&data) {
                Ok(Some(t)) => t,
                Ok(None) => continue,
                Err(e) => {
                    self.ended = true;
                    self.held = None;
                    return Some(Err(e.into()));
                }
            };
            self.tokens += 1;
            let step = self.stop.push(&token);
            let out = self.held.replace(step.emit);
            if step.stopped {
                self.end(true);
            } else if self.tokens >= self.max_tokens {
                self.end(false);
            }
            if let Some(piece) = out {
                return Some(Ok(piece));
            }
        }
    }

    /// Ends the stream; what the stop matcher held back joins the last piece unless a stop
    /// sequence was found.
    fn end(&mut self, stopped: bool) {
        self.ended = true;
        if stopped {
            return;
        }
        let tail = self.stop.finish();
        if !tail.is_empty() {
            self.held.get_or_insert_with(String::new).push_str(&tail);
        }
    }

    /// The token in one event; `None` for events that carry none (the role, usage).
    fn token(&self, data: &str) -> std::result::Result<Option<String>, OpenAiError> {
        let value: serde_json::Value =
            serde_json::from_str(data).map_err(|e| OpenAiError::Decode {
                url: self.url.clone(),
                reason: format!("a streamed event is not JSON ({e}): {data:.200}"),
            })?;
        if value.get("error").is_some() {
            let said = crate::client::ServerSaid::parse(data.as_bytes());
            return Err(OpenAiError::Status {
                url: self.url.clone(),
                status: 200,
                message: format!("error mid-stream: {}", said.message),
                retry_after: None,
            });
        }
        let chunk: ChatChunk = serde_json::from_value(value).map_err(|e| OpenAiError::Decode {
            url: self.url.clone(),
            reason: format!("a streamed chunk does not parse ({e}): {data:.200}"),
        })?;
        Ok(chunk
            .choices
            .into_iter()
            .next()
            .and_then(|c| c.delta.token()))
    }

    async fn next_event(&mut self) -> std::result::Result<Option<String>, OpenAiError> {
        loop {
            if let Some(e) = self.events.pop_front() {
                return Ok(Some(e));
            }
            match self.bytes.next().await {
                Some(Ok(bytes)) => {
                    let events = self.sse.push(&bytes).map_err(|e| OpenAiError::Decode {
                        url: self.url.clone(),
                        reason: e.to_string(),
                    })?;
                    self.events.extend(events);
                }
                Some(Err(e)) => return Err(transport(&self.url, self.timeout, e)),
                None => return Ok(self.sse.finish()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(events: &[&str], max_tokens: usize, stop: &[&str]) -> Vec<String> {
        let body: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
        let bytes = futures::stream::iter(
            body.into_bytes()
                .chunks(7)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect::<Vec<_>>(),
        )
        .boxed();
        let stop: Vec<String> = stop.iter().map(|s| s.to_string()).collect();
        let stream =
            Tokens::new(bytes, "u".into(), Duration::from_secs(1), max_tokens, &stop).into_stream();
        futures::executor::block_on(stream.map(|p| p.unwrap()).collect())
    }

    fn delta(text: &str) -> String {
        format!(r#"{{"choices":[{{"index":0,"delta":{{"content":{text:?}}}}}]}}"#)
    }

    #[test]
    fn deltas_become_pieces_and_stops_cut_them() {
        let role = r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}"#;
        let all = [
            role,
            &delta("The"),
            &delta(" river"),
            &delta(" END"),
            &delta("!"),
            "[DONE]",
        ];
        assert_eq!(events(&all, 10, &[]), ["The", " river", " END", "!"]);
        // The stop text never shows; pieces held back for it come out empty.
        let cut = events(&all, 10, &["END"]);
        assert_eq!(cut.concat(), "The river ");
        assert!(cut.len() <= 3, "{cut:?}");
        // A possible stop that never completes is given back, joined to the last piece.
        let held = events(&all, 10, &["!!"]);
        assert_eq!(held.concat(), "The river END!");
        assert_eq!(held.len(), 4, "{held:?}");
        // No more than max_tokens pieces, whatever the server sends.
        assert_eq!(events(&all, 2, &[]), ["The", " river"]);
    }

    #[test]
    fn an_error_event_ends_the_stream_with_the_servers_words() {
        let body = format!(
            "data: {}\n\ndata: {{\"error\":{{\"message\":\"out of memory\"}}}}\n\n",
            delta("a")
        );
        let bytes = futures::stream::iter([Ok(Bytes::from(body))]).boxed();
        let stream = Tokens::new(bytes, "u".into(), Duration::from_secs(1), 9, &[]).into_stream();
        let got: Vec<Result<String>> = futures::executor::block_on(stream.collect());
        assert_eq!(
            got.len(),
            1,
            "the held piece is dropped with the error: {got:?}"
        );
        assert!(
            got[0]
                .as_ref()
                .unwrap_err()
                .report()
                .to_string()
                .contains("out of memory")
        );
    }

    #[test]
    fn stops_cut_complete_text_at_the_earliest() {
        let mut t = String::from("one two three");
        assert!(cut_at_stop(&mut t, &["three".into(), "two".into()]));
        assert_eq!(t, "one ");
        assert!(!cut_at_stop(&mut t, &["x".into()]));
    }
}
