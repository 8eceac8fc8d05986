//! A gRPC fault proxy in front of a real Qdrant server: every call is forwarded over HTTP/2,
//! bytes untouched, except the upserts chosen to fail, which are answered with a chosen
//! status code and never reach the server. A real server cannot be made to answer
//! UNAVAILABLE or RESOURCE_EXHAUSTED to the third upsert on demand; everything else the fault
//! tests need (a server that is down, killed and restarted, refusing keys, missing
//! collections) they get from the real server itself. It keeps one connection to the server
//! per client connection and never reopens it, so it cannot sit in front of a server that
//! is killed: those tests talk to the server directly.

// Each test file that includes this module uses a part of it.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Either, Empty};
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::http2::SendRequest;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tonic::Code;

const UPSERT: &str = "/qdrant.Points/Upsert";

type Body = Either<Incoming, Empty<Bytes>>;

struct State {
    upstream: String,
    /// What the next upserts meet, one each: a failure with a code, or the server (`None`).
    faults: Mutex<VecDeque<Option<Code>>>,
    upserts: AtomicUsize,
}

/// A running proxy on a loopback port; it stops when dropped.
pub struct FaultProxy {
    state: Arc<State>,
    url: String,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy to the server whose gRPC URL is `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> Self {
        let state = Arc::new(State {
            upstream: upstream
                .strip_prefix("http://")
                .expect("an http:// URL")
                .to_string(),
            faults: Mutex::new(VecDeque::new()),
            upserts: AtomicUsize::new(0),
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(accept(listener, state.clone()));
        Self { state, url, task }
    }

    /// The gRPC URL clients connect to.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Upsert calls received, failed ones included.
    pub fn upserts(&self) -> usize {
        self.state.upserts.load(Ordering::SeqCst)
    }

    /// Makes the next upserts fail, one per code.
    pub fn fail_upserts(&self, codes: &[Code]) {
        let mut faults = self.state.faults.lock().unwrap();
        faults.extend(codes.iter().map(|c| Some(*c)));
    }

    /// Lets the next `n` upserts through before the failures queued after this call.
    pub fn pass_upserts(&self, n: usize) {
        let mut faults = self.state.faults.lock().unwrap();
        faults.extend(std::iter::repeat_n(None, n));
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // The connections are the accept task's: they end with it.
        self.task.abort();
    }
}

async fn accept(listener: TcpListener, state: Arc<State>) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((client, _)) = listener.accept().await else {
            // Out of descriptors, say: let connections close before trying again.
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        while connections.try_join_next().is_some() {}
        connections.spawn(relay(client, state.clone()));
    }
}

/// One client connection, relayed over one connection of its own to the server.
async fn relay(client: TcpStream, state: Arc<State>) {
    let Ok(server) = TcpStream::connect(&state.upstream).await else {
        return;
    };
    let Ok((sender, connection)) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(server)).await
    else {
        return;
    };
    let driver = tokio::spawn(connection);
    let service =
        hyper::service::service_fn(move |request| forward(state.clone(), sender.clone(), request));
    let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
        .serve_connection(TokioIo::new(client), service)
        .await;
    driver.abort();
}

async fn forward(
    state: Arc<State>,
    mut server: SendRequest<Incoming>,
    request: Request<Incoming>,
) -> Result<Response<Body>, hyper::Error> {
    if request.uri().path() == UPSERT {
        state.upserts.fetch_add(1, Ordering::SeqCst);
        let fault = state.faults.lock().unwrap().pop_front().flatten();
        if let Some(code) = fault {
            // Read whole, as a server would before answering.
            request.into_body().collect().await?;
            return Ok(failure(code));
        }
    }
    server.ready().await?;
    let reply = server.send_request(request).await?;
    Ok(reply.map(Either::Left))
}

/// A trailers-only gRPC reply: the status in the headers, no message.
fn failure(code: Code) -> Response<Body> {
    Response::builder()
        .header("content-type", "application/grpc")
        .header("grpc-status", (code as i32).to_string())
        .header("grpc-message", "injected by the fault proxy")
        .body(Either::Right(Empty::new()))
        .unwrap()
}
