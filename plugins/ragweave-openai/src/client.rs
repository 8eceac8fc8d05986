//! The HTTP client the three components share: requests, retries, error replies.

use std::time::Duration;

use ragweave_core::RetryPolicy;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::OpenAiError;
use crate::options::OpenAiOptions;

/// A connection to one server for one model.
#[derive(Clone)]
pub(crate) struct Client {
    http: reqwest::Client,
    root: String,
    api_key: Option<String>,
    timeout: Duration,
    retry: RetryPolicy,
    pub(crate) model: String,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("Client")
            .field("root", &self.root)
            .field("model", &self.model)
            .finish()
    }
}

impl Client {
    pub(crate) fn new(model: &str, options: &OpenAiOptions) -> Result<Self, OpenAiError> {
        let root = options.root()?;
        if model.trim().is_empty() {
            return Err(OpenAiError::Option {
                option: "model",
                reason: "is empty; name the model the server serves".into(),
            });
        }
        let http = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            // Per read, so a long stream is fine as long as it keeps coming.
            .read_timeout(options.timeout)
            .build()
            .map_err(|e| OpenAiError::Option {
                option: "base_url",
                reason: format!("the HTTP client cannot start: {e}"),
            })?;
        Ok(Self {
            http,
            root,
            api_key: options.resolved_api_key(),
            timeout: options.timeout,
            retry: options.retry.clone(),
            model: model.to_string(),
        })
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.root)
    }

    /// POSTs `body` and returns the successful response with its body unread (a stream),
    /// retrying failures before the reply's status under the policy.
    pub(crate) async fn open<B: Serialize>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<reqwest::Response, OpenAiError> {
        let url = self.url(path);
        self.retrying(&url, || self.send(&url, body, false)).await
    }

    /// POSTs `body` and decodes the JSON reply, retrying transient failures (including a
    /// reply cut off mid-body).
    pub(crate) async fn call<B: Serialize, R: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<R, OpenAiError> {
        let url = self.url(path);
        let bytes = self
            .retrying(&url, || async {
                let response = self.send(&url, body, true).await?;
                response
                    .bytes()
                    .await
                    .map_err(|e| transport(&url, self.timeout, e))
            })
            .await?;
        serde_json::from_slice(&bytes).map_err(|e| OpenAiError::Decode {
            url: url.clone(),
            reason: format!("{e}; body starts {:?}", preview(&bytes)),
        })
    }

    async fn retrying<T, F, Fut>(&self, url: &str, op: F) -> Result<T, OpenAiError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, OpenAiError>>,
    {
        self.retry.run(op).await.map_err(|failure| {
            failure.into_error(|last, attempts| OpenAiError::GaveUp {
                url: url.to_string(),
                attempts,
                last: Box::new(last),
            })
        })
    }

    async fn send<B: Serialize>(
        &self,
        url: &str,
        body: &B,
        whole: bool,
    ) -> Result<reqwest::Response, OpenAiError> {
        let mut request = self.http.post(url).json(body);
        if whole {
            request = request.timeout(self.timeout);
        }
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let response = request
            .send()
            .await
            .map_err(|e| transport(url, self.timeout, e))?;
        if response.status().is_success() {
            return Ok(response);
        }
        Err(self.status_error(url, response).await)
    }

    /// The typed error for a non-2xx reply, with the server's message.
    async fn status_error(&self, url: &str, response: reqwest::Response) -> OpenAiError {
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let body = response.bytes().await.unwrap_or_default();
        let said = ServerSaid::parse(&body);
        let url = url.to_string();
        let message = said.message;
        match status {
            401 | 403 => OpenAiError::Unauthorized {
                url,
                status,
                message,
            },
            404 if said.code.as_deref() == Some("model_not_found")
                || message.to_lowercase().contains("model") =>
            {
                OpenAiError::UnknownModel {
                    url,
                    model: self.model.clone(),
                    message,
                }
            }
            400 | 413 | 422 => OpenAiError::Rejected {
                url,
                status,
                param: said.param,
                message,
            },
            _ => OpenAiError::Status {
                url,
                status,
                message,
                retry_after,
            },
        }
    }
}

/// A transport failure: a timeout, or no (or a broken) connection.
pub(crate) fn transport(url: &str, timeout: Duration, e: reqwest::Error) -> OpenAiError {
    if e.is_timeout() {
        return OpenAiError::Timeout {
            url: url.to_string(),
            after: timeout,
        };
    }
    let mut reason = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        reason = format!("{reason}: {s}");
        source = s.source();
    }
    OpenAiError::Unreachable {
        url: url.to_string(),
        reason,
    }
}

/// `Retry-After` as seconds or as an HTTP date.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0)
            .then(|| Duration::from_secs_f64(secs.min(3600.0)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or_default()
            .min(Duration::from_secs(3600)),
    )
}

/// The first characters of a body, for messages.
pub(crate) fn preview(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).chars().take(300).collect()
}

/// What an error body says, in the shapes servers use: OpenAI's (also llama-server's and
/// vLLM's) `{"error": {"message", "code", "param"}}`, TEI's `{"error": "..."}`, FastAPI's
/// `{"detail": ...}`, `{"message": ...}`, or plain text.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct ServerSaid {
    pub message: String,
    pub code: Option<String>,
    pub param: Option<String>,
}

impl ServerSaid {
    pub(crate) fn parse(body: &[u8]) -> Self {
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
            let text = preview(body).trim().to_string();
            return Self {
                message: if text.is_empty() {
                    "(empty body)".into()
                } else {
                    text
                },
                ..Self::default()
            };
        };
        let text = |v: &serde_json::Value| match v {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Null => None,
            other => Some(other.to_string()),
        };
        let error = &value["error"];
        if error.is_object() {
            return Self {
                message: error
                    .get("message")
                    .and_then(text)
                    .unwrap_or_else(|| error.to_string()),
                code: error.get("code").and_then(text),
                param: error.get("param").and_then(text),
            };
        }
        let message = ["error", "detail", "message"]
            .iter()
            .find_map(|k| value.get(*k).and_then(text))
            .unwrap_or_else(|| value.to_string());
        Self {
            message,
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_of_every_shape_give_their_message() {
        let openai = ServerSaid::parse(
            br#"{"error":{"message":"model `x` not found","type":"invalid_request_error","param":"model","code":"model_not_found"}}"#,
        );
        assert_eq!(openai.message, "model `x` not found");
        assert_eq!(openai.code.as_deref(), Some("model_not_found"));
        assert_eq!(openai.param.as_deref(), Some("model"));
        let tei =
            ServerSaid::parse(br#"{"error":"Input validation error","error_type":"Validation"}"#);
        assert_eq!(tei.message, "Input validation error");
        let fastapi = ServerSaid::parse(br#"{"detail":[{"loc":["body","input"]}]}"#);
        assert!(fastapi.message.contains("input"), "{fastapi:?}");
        assert_eq!(ServerSaid::parse(b"Bad Gateway").message, "Bad Gateway");
        assert_eq!(ServerSaid::parse(b"").message, "(empty body)");
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after("-1"), None);
        let soon = std::time::SystemTime::now() + Duration::from_secs(30);
        let d = parse_retry_after(&httpdate::fmt_http_date(soon)).unwrap();
        assert!(
            d > Duration::from_secs(27) && d <= Duration::from_secs(30),
            "{d:?}"
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn base_urls_are_checked() {
        let bad = Client::new("m", &OpenAiOptions::at("localhost:8080")).unwrap_err();
        assert!(
            matches!(
                bad,
                OpenAiError::Option {
                    option: "base_url",
                    ..
                }
            ),
            "{bad}"
        );
        let c = Client::new("m", &OpenAiOptions::at("http://h:1/v1/")).unwrap();
        assert_eq!(c.url("embeddings"), "http://h:1/v1/embeddings");
        let empty = Client::new(" ", &OpenAiOptions::at("http://h/v1")).unwrap_err();
        assert!(matches!(
            empty,
            OpenAiError::Option {
                option: "model",
                ..
            }
        ));
    }
}
