//! What every API request passes through, in order: metrics (and a caught panic), the
//! reply deadline, bearer auth (or, without a token, the `Host` check), the body read in
//! full, the concurrency limit.

use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::FutureExt;
use http_body_util::BodyExt;
use tokio::sync::OwnedSemaphorePermit;

use crate::error::ApiError;
use crate::state::AppState;

/// Counts the request by route and status, and keeps it in flight until its body is done.
pub(crate) async fn observe(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_string();
    state.metrics.request_started();
    let started = Instant::now();
    // A handler that panics answers 500 and is counted like any other request; the panic
    // would otherwise end the connection with no reply and no count.
    let response = match AssertUnwindSafe(next.run(request)).catch_unwind().await {
        Ok(response) => response,
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("a panic");
            tracing::error!(%route, panic = what, "handler panicked");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error; the server log has the cause",
            )
            .into_response()
        }
    };
    state
        .metrics
        .record(&route, response.status().as_u16(), started.elapsed());
    let metrics = state.metrics.clone();
    on_body_end(response, move || metrics.request_finished())
}

/// 401 unless the request carries the configured bearer token.
pub(crate) async fn authorize(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(token) = &state.options.token {
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !given.is_some_and(|g| same(g.trim().as_bytes(), token.as_bytes())) {
            let message = if given.is_some() {
                "the bearer token is wrong"
            } else {
                "this server needs `Authorization: Bearer <token>`"
            };
            let mut response =
                ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).into_response();
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return response;
        }
    }
    next.run(request).await
}

/// Without a token, 421 unless `Host` names this machine or an allowed host: a browser
/// page on a rebound name would otherwise reach a loopback server with no auth at all.
pub(crate) async fn check_host(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    if state.options.token.is_none() {
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !host_allowed(host, &state.options.allowed_hosts) {
            return ApiError::new(
                StatusCode::MISDIRECTED_REQUEST,
                "host_not_allowed",
                "this server has no token and answers only requests for localhost or its \
                 allowed hosts (`--allowed-host`)",
            )
            .into_response();
        }
    }
    next.run(request).await
}

/// Whether `host` (a `Host` header: a name or address, maybe with a port) is loopback,
/// `localhost` or one of `allowed`.
fn host_allowed(host: &str, allowed: &[String]) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _port)| name),
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
        || allowed.iter().any(|a| a.eq_ignore_ascii_case(&name))
}

/// 504 when no reply has begun within [`ServeOptions::request_timeout`](crate::ServeOptions).
pub(crate) async fn deadline(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let limit = state.options.request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "request_timeout",
            format!("no reply within {limit:?}, this server's request timeout"),
        )
        .into_response(),
    }
}

/// Reads the whole body before the request takes a place among the concurrency permits, so
/// a client that trickles bytes holds none: 408 past the body timeout, 413 past the body
/// limit, 503 when bodies being read hold [`ServeOptions::max_buffered_bytes`] already.
/// What the body holds stays counted until the reply is sent.
pub(crate) async fn read_body(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, mut body) = request.into_parts();
    let options = &state.options;
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > options.max_body_bytes as u64) {
        return ApiError::body_too_large().into_response();
    }
    let give_up = tokio::time::Instant::now() + options.body_read_timeout;
    let mut data = bytes::BytesMut::new();
    let mut held: Option<OwnedSemaphorePermit> = None;
    loop {
        let frame = match tokio::time::timeout_at(give_up, body.frame()).await {
            Err(_) => {
                return ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "body_timeout",
                    format!(
                        "the request body did not arrive within {:?}",
                        options.body_read_timeout
                    ),
                )
                .into_response();
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                return ApiError::new(StatusCode::BAD_REQUEST, "unreadable_body", e.to_string())
                    .into_response();
            }
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
        // A body over the budget of all bodies could never be read: too large, not busy.
        if data.len() + chunk.len() > options.max_body_bytes.min(options.max_buffered_bytes) {
            return ApiError::body_too_large().into_response();
        }
        let permit = u32::try_from(chunk.len())
            .ok()
            .and_then(|n| state.buffered.clone().try_acquire_many_owned(n).ok());
        let Some(permit) = permit else {
            state.metrics.overloaded();
            return ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "this server holds as many request bodies as it may; retry shortly",
            )
            .into_response();
        };
        match &mut held {
            Some(h) => h.merge(permit),
            None => held = Some(permit),
        }
        data.extend_from_slice(&chunk);
    }
    let request = Request::from_parts(parts, Body::from(data.freeze()));
    let response = next.run(request).await;
    on_body_end(response, move || drop(held))
}

/// Compares without an early exit, so timing does not tell how much of a token was right.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// 503 at once past the concurrency limit; the place is held until the body is done.
pub(crate) async fn limit(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let Ok(permit) = state.permits.clone().try_acquire_owned() else {
        state.metrics.overloaded();
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            format!(
                "{} requests are being answered, this server's limit; retry shortly",
                state.options.max_concurrency
            ),
        )
        .into_response();
    };
    let response = next.run(request).await;
    on_body_end(response, move || drop(permit))
}

/// Runs `done` when the response body has been sent or dropped (a client that left).
fn on_body_end(response: Response, done: impl FnOnce() + Send + 'static) -> Response {
    response.map(|inner| {
        Body::new(Guarded {
            inner,
            done: Some(Box::new(done)),
        })
    })
}

struct Guarded {
    inner: Body,
    done: Option<Box<dyn FnOnce() + Send>>,
}

impl Drop for Guarded {
    fn drop(&mut self) {
        if let Some(done) = self.done.take() {
            done();
        }
    }
}

impl http_body::Body for Guarded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_compare_whole() {
        assert!(super::same(b"secret", b"secret"));
        assert!(!super::same(b"secreT", b"secret"));
        assert!(!super::same(b"secret1", b"secret"));
        assert!(!super::same(b"", b"secret"));
    }
}
