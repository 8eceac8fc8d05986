//! Failures a real server shows rarely, on demand: a scripted HTTP/1.1 server on loopback
//! answers each connection with the next canned reply (a 429 with a date in `Retry-After`, a
//! 500 with a JSON message, a stream cut mid-body). The happy paths run against a real
//! `ragweave serve` (crates/ragweave-serve/tests/openai_plugin.rs).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use ragweave_core::{GenerateRequest, Generator};
use ragweave_openai::{OpenAiGenerator, OpenAiOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Serves `replies` in turn, one per connection (the last repeats); counts requests.
async fn scripted(replies: Vec<String>) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let served = Arc::new(AtomicUsize::new(0));
    let count = served.clone();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let n = count.fetch_add(1, Ordering::SeqCst);
            let reply = replies[n.min(replies.len() - 1)].clone();
            tokio::spawn(async move {
                // Read the request head and its body (Content-Length), then answer and close.
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let read = socket.read(&mut chunk).await.unwrap_or(0);
                    buf.extend_from_slice(&chunk[..read]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text[..end]
                            .lines()
                            .find_map(|l| {
                                l.to_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap())
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + length {
                            break;
                        }
                    }
                    if read == 0 {
                        return;
                    }
                }
                let _ = socket.write_all(reply.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (url, served)
}

fn response(status: &str, headers: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{headers}\r\n{body}",
        body.len()
    )
}

const COMPLETION: &str = r#"{"id":"x","object":"chat.completion","created":0,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"fine"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}"#;

fn fast(url: &str, attempts: u32) -> OpenAiOptions {
    let mut o = OpenAiOptions::at(url);
    o.retry.attempts = attempts;
    o.retry.initial_backoff = Duration::from_millis(1);
    o
}

#[tokio::test]
async fn a_429_is_retried_after_the_date_in_retry_after() {
    let at = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(2));
    let (url, served) = scripted(vec![
        response(
            "429 Too Many Requests",
            &format!("retry-after: {at}\r\n"),
            r#"{"error":{"message":"slow down"}}"#,
        ),
        response("200 OK", "", COMPLETION),
    ])
    .await;
    let started = Instant::now();
    let done = OpenAiGenerator::new("m", fast(&url, 3))
        .unwrap()
        .complete(&GenerateRequest::user("hi"))
        .await
        .unwrap();
    assert_eq!(done.text, "fine");
    assert_eq!(served.load(Ordering::SeqCst), 2);
    // The date is whole seconds, so at least one full second was waited, not 1 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(1000),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn server_errors_keep_the_servers_words_and_give_up_after_the_attempts() {
    let (url, served) = scripted(vec![response(
        "500 Internal Server Error",
        "",
        r#"{"error":{"message":"CUDA out of memory","type":"server_error"}}"#,
    )])
    .await;
    let err = OpenAiGenerator::new("m", fast(&url, 3))
        .unwrap()
        .complete(&GenerateRequest::user("hi"))
        .await
        .unwrap_err();
    assert_eq!(served.load(Ordering::SeqCst), 3);
    let text = err.report().to_string();
    assert!(
        text.contains("gave up after 3 attempts") && text.contains("CUDA out of memory"),
        "{text}"
    );
    assert!(err.is_transient());

    // 501 is permanent: sent once.
    let (url, served) = scripted(vec![response("501 Not Implemented", "", "no rerank here")]).await;
    let err = OpenAiGenerator::new("m", fast(&url, 3))
        .unwrap()
        .complete(&GenerateRequest::user("hi"))
        .await
        .unwrap_err();
    assert_eq!(served.load(Ordering::SeqCst), 1);
    assert!(
        err.report().to_string().contains("no rerank here") && !err.is_transient(),
        "{err}"
    );

    // A reply that is not the API's shape says what it was.
    let (url, _) = scripted(vec![response("200 OK", "", "<html>proxy login</html>")]).await;
    let err = OpenAiGenerator::new("m", fast(&url, 1))
        .unwrap()
        .complete(&GenerateRequest::user("hi"))
        .await
        .unwrap_err();
    assert!(err.report().to_string().contains("proxy login"), "{err}");
}

#[tokio::test]
async fn a_stream_cut_mid_body_ends_in_a_transient_error() {
    let event = |t: &str| {
        let data = format!(r#"data: {{"choices":[{{"index":0,"delta":{{"content":"{t}"}}}}]}}"#);
        format!("{:x}\r\n{data}\n\n\r\n", data.len() + 2)
    };
    // Chunked encoding, two tokens, then the connection closes without the last chunk.
    let cut = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n{}{}",
        event("one"),
        event(" two")
    );
    let (url, _) = scripted(vec![cut]).await;
    let g = OpenAiGenerator::new("m", fast(&url, 1)).unwrap();
    let mut stream = g.stream(&GenerateRequest::user("hi")).await.unwrap();
    let mut text = String::new();
    let mut error = None;
    while let Some(piece) = stream.next().await {
        match piece {
            Ok(p) => text.push_str(&p),
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    let error = error.expect("a cut stream is an error, not a short answer");
    assert!(error.is_transient(), "{error}");
    assert!(text.starts_with("one"), "{text:?}");
}
