//! Errors as HTTP replies in OpenAI's shape, and the JSON body extractor that types them.

use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use ragweave_core::Error;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// An error reply: `{"error": {"message", "type", "param", "code"}}`, the body OpenAI and the
/// servers that copy it send, so clients that read those read this.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What was wrong, and where.
    pub message: String,
    /// The request field at fault, e.g. `messages[2].content`.
    pub param: Option<String>,
    /// A stable machine-readable code, e.g. `model_not_found`.
    pub code: &'static str,
}

/// The body of an error reply.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ErrorDetail {
    /// What was wrong, and where.
    pub message: String,
    /// `invalid_request_error`, `authentication_error`, `not_found_error`,
    /// `overloaded_error`, `timeout_error` or `server_error`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The request field at fault.
    pub param: Option<String>,
    /// A stable code, e.g. `model_not_found`, `body_too_large`, `overloaded`.
    pub code: &'static str,
}

impl ApiError {
    /// An error with `status` and `code`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            param: None,
            code,
        }
    }

    /// 413: the body is over the server's limit.
    pub fn body_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "the request body is larger than this server's limit (`--max-body-bytes`)",
        )
    }

    /// 400 blaming `param`.
    pub fn invalid(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            param: Some(param.into()),
            ..Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
        }
    }

    /// 404 for a model the server does not serve.
    pub fn unknown_model(model: &str, served: &[String]) -> Self {
        Self {
            param: Some("model".into()),
            ..Self::new(
                StatusCode::NOT_FOUND,
                "model_not_found",
                format!(
                    "model `{model}` is not served here; served: {}",
                    served.join(", ")
                ),
            )
        }
    }

    fn kind(&self) -> &'static str {
        match self.status.as_u16() {
            401 | 403 => "authentication_error",
            404 => "not_found_error",
            503 => "overloaded_error",
            504 => "timeout_error",
            s if s < 500 => "invalid_request_error",
            _ => "server_error",
        }
    }

    /// The JSON body, also sent as the `error` event of a stream that fails midway.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                message: self.message.clone(),
                kind: self.kind(),
                param: self.param.clone(),
                code: self.code,
            },
        }
    }
}

impl From<Error> for ApiError {
    /// A client's mistake gets the whole chain (the field, and what is wrong with it). A
    /// failure of the server's own gets only what failed (`generator failed`): the cause may
    /// hold an upstream URL, an upstream server's words or a file path, so it goes to the
    /// log, not to whoever sent the request.
    fn from(e: Error) -> Self {
        match &e {
            Error::InvalidInput { field, .. } | Error::DimensionMismatch { field, .. } => {
                ApiError::invalid(field.clone(), e.report().to_string())
            }
            Error::NotFound { .. } => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", e.report().to_string())
            }
            _ => {
                let (status, code) = match &e {
                    Error::Timeout { .. } => (StatusCode::GATEWAY_TIMEOUT, "timeout"),
                    _ if e.is_transient() => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
                    _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
                };
                tracing::error!(%status, error = %e.report(), "request failed");
                ApiError::new(
                    status,
                    code,
                    format!("{}; the server log has the cause", summary(&e)),
                )
            }
        }
    }
}

/// What failed, without why: the words of the error itself for kinds that name only a
/// component or a stage, else a generic phrase.
fn summary(e: &Error) -> String {
    match e {
        Error::Component { .. } | Error::AllExpertsFailed { .. } | Error::Timeout { .. } => {
            e.to_string()
        }
        _ => "internal error".to_string(),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry = self.status == StatusCode::SERVICE_UNAVAILABLE;
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if retry {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// A JSON body whose problems are [`ApiError`]s: 413 past the body limit, 415 without a
/// JSON content type, 400 naming the line, column and field of malformed JSON or a missing
/// or mistyped field.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| {
                let m = m.trim();
                m == "application/json" || m.ends_with("+json")
            });
        if !json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::body_too_large()
            } else {
                ApiError::new(r.status(), "unreadable_body", r.body_text())
            }
        })?;
        parse(&bytes).map(JsonBody)
    }
}

/// Parses JSON, naming the line, column and field of what failed. A body of more than
/// [`MAX_BODY_JSON_VALUES`](ragweave_core::bounded::MAX_BODY_JSON_VALUES) values is refused
/// before it is built (each value costs about 32 bytes however short its text).
pub(crate) fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    use ragweave_core::bounded::{MAX_BODY_JSON_VALUES, check_values};
    if let Err(e) = check_values(bytes, MAX_BODY_JSON_VALUES) {
        let what = if e.is_syntax() || e.is_eof() {
            "malformed JSON"
        } else {
            "request body too complex"
        };
        return Err(ApiError {
            param: None,
            ..ApiError::invalid("", format!("{what}: {e}"))
        });
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let what = if inner.is_syntax() || inner.is_eof() {
            "malformed JSON"
        } else {
            "bad request body"
        };
        let param = (path != ".").then_some(path);
        ApiError {
            param,
            ..ApiError::invalid("", format!("{what}: {inner}"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Body {
        messages: Vec<Message>,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Message {
        role: String,
        content: String,
    }

    #[test]
    fn bad_json_names_where() {
        let e = parse::<Body>(b"{\"messages\": [").unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(e.message.contains("malformed JSON"), "{}", e.message);
        assert!(e.message.contains("line 1"), "{}", e.message);
        let e = parse::<Body>(br#"{"messages": [{"role": "user"}]}"#).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("messages[0]"), "{e:?}");
        assert!(
            e.message.contains("missing field `content`"),
            "{}",
            e.message
        );
        let e = parse::<Body>(br#"{"messages": [{"role": 1, "content": ""}]}"#).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("messages[0].role"), "{e:?}");
    }

    #[test]
    fn server_failures_say_what_failed_but_not_why() {
        let upstream = Error::transient(
            "generator",
            "http://10.0.0.7:8000/v1 said: key sk-planted-secret is invalid (/srv/models/a.gguf)",
        );
        let reply = ApiError::from(upstream);
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            reply.message.starts_with("generator failed"),
            "{}",
            reply.message
        );
        for leak in ["10.0.0.7", "sk-planted-secret", "/srv/models"] {
            assert!(!reply.message.contains(leak), "{}", reply.message);
        }
        let io = Error::Io {
            path: "/srv/secret/store".into(),
            source: std::io::Error::other("disk full"),
        };
        assert_eq!(
            ApiError::from(io).message,
            "internal error; the server log has the cause"
        );
        // A client's own mistake keeps its whole explanation.
        let bad = ApiError::from(Error::invalid("query.text", "the query is empty"));
        assert!(
            bad.message.contains("the query is empty"),
            "{}",
            bad.message
        );
    }

    #[test]
    fn core_errors_get_their_status() {
        let s = |e: Error| ApiError::from(e).status.as_u16();
        assert_eq!(s(Error::invalid("query.text", "empty")), 400);
        assert_eq!(
            s(Error::NotFound {
                what: "expert",
                name: "x".into()
            }),
            404
        );
        assert_eq!(s(Error::transient("generator", "busy")), 503);
        assert_eq!(s(Error::component("generator", "crashed")), 500);
        assert_eq!(
            s(Error::Timeout {
                stage: "generate".into(),
                after: std::time::Duration::from_secs(1)
            }),
            504
        );
    }
}
