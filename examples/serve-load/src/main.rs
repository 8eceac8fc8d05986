//! Load on `ragweave serve`: a bounded number of `POST /v1/retrieve` requests (default
//! 10,000) from a fixed number of concurrent connections (default 64), loopback only, against
//! a server in a child process over the SciFact corpus (5,183 documents, Qdrant Edge, BM25).
//! Prints throughput, p50/p99/max latency, errors and the server's peak memory, and beside
//! them the same queries through the same pipeline in process, so the ratio is what HTTP and
//! the server add.
//!
//! ```text
//! cargo run --release -p serve-load
//! LOAD_REQUESTS=20000 LOAD_CONCURRENCY=128 cargo run --release -p serve-load
//! ```

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ragweave_core::config::BuiltPipeline;
use ragweave_core::{EmbeddedChunk, Pipeline, Query, read_jsonl_corpus};
use ragweave_qdrant_edge::{EdgeStore, EdgeStoreOptions, SearchMode};
use ragweave_serve::{ServeOptions, Served, Server};

const CHILD: &str = "RAGWEAVE_LOAD_SERVER";

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if std::env::var_os(CHILD).is_some() {
        runtime.block_on(server());
    } else {
        runtime.block_on(drive());
    }
}

fn queries() -> Vec<String> {
    let dir = ragweave_testkit::datasets::dataset("scifact");
    ragweave_testkit::datasets::test_queries(&dir)
        .into_iter()
        .map(|(_, text)| text)
        .collect()
}

/// The child: builds the store, measures the pipeline in process, then serves until stdin
/// closes.
async fn server() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = ragweave_testkit::datasets::dataset("scifact").join("corpus.jsonl");
    let chunks = read_jsonl_corpus(&corpus, None).unwrap();
    let docs = chunks.len();
    let store = EdgeStore::open(dir.path().join("store"), EdgeStoreOptions::default()).unwrap();
    use ragweave_core::ChunkStore;
    for batch in chunks.chunks(512) {
        let batch = batch
            .iter()
            .cloned()
            .map(|chunk| EmbeddedChunk {
                chunk,
                vector: None,
            })
            .collect();
        store.upsert(batch).await.unwrap();
    }
    store.optimize().await.unwrap();
    let pipeline = Pipeline::builder()
        .expert("scifact", Arc::new(store.searcher(SearchMode::Sparse)))
        .build()
        .unwrap();

    let requests = env("LOAD_REQUESTS", 10_000);
    let concurrency = env("LOAD_CONCURRENCY", 64);
    let queries = Arc::new(queries());
    let (elapsed, mut latencies, _) = run(requests, concurrency, &queries, {
        let pipeline = pipeline.clone();
        move |q: String| {
            let pipeline = pipeline.clone();
            async move { pipeline.retrieve(Query::new(q).top_k(10)).await.is_ok() }
        }
    })
    .await;
    latencies.sort();
    println!(
        "IN-PROCESS {docs} {:.1} {:.3} {:.3}",
        requests as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99)
    );

    let served = Served::new(BuiltPipeline::new(pipeline), None).unwrap();
    let server = Server::new(
        served,
        ServeOptions {
            max_concurrency: concurrency * 2,
            ..ServeOptions::default()
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("LISTENING {}", listener.local_addr().unwrap());
    std::io::stdout().flush().unwrap();
    let stdin_closed = async {
        tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
        })
        .await
        .unwrap();
    };
    server.run(listener, stdin_closed).await.unwrap();
}

/// Sends `requests` calls from `concurrency` workers; returns the wall time, each call's
/// latency in milliseconds, and the failures.
async fn run<F, Fut>(
    requests: usize,
    concurrency: usize,
    queries: &Arc<Vec<String>>,
    call: F,
) -> (Duration, Vec<ordered::Ms>, usize)
where
    F: Fn(String) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = bool> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (next, errors, queries, call) =
                (next.clone(), errors.clone(), queries.clone(), call.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= requests {
                        return latencies;
                    }
                    let q = queries[i % queries.len()].clone();
                    let t = Instant::now();
                    if !call(q).await {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                    latencies.push(ordered::Ms(t.elapsed().as_secs_f64() * 1e3));
                }
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(requests);
    for w in workers {
        latencies.extend(w.await.unwrap());
    }
    (started.elapsed(), latencies, errors.load(Ordering::Relaxed))
}

mod ordered {
    /// Milliseconds, sortable.
    #[derive(Clone, Copy, PartialEq)]
    pub struct Ms(pub f64);
    impl Eq for Ms {}
    impl PartialOrd for Ms {
        fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(other))
        }
    }
    impl Ord for Ms {
        fn cmp(&self, other: &Self) -> std::cmp::Ordering {
            self.0.total_cmp(&other.0)
        }
    }
}

fn percentile(sorted: &[ordered::Ms], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize].0
}

fn kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// The parent: starts the server, sends the load, reports.
async fn drive() {
    let requests = env("LOAD_REQUESTS", 10_000);
    let concurrency = env("LOAD_CONCURRENCY", 64);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(CHILD, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let in_process = lines.next().unwrap().unwrap();
    let f: Vec<&str> = in_process.split_whitespace().collect();
    let (docs, local_qps, local_p50, local_p99) = (f[1], f[2], f[3], f[4]);
    let listening = lines.next().unwrap().unwrap();
    let address = listening.strip_prefix("LISTENING ").unwrap().to_string();
    let ready_kib = kib(pid, "VmHWM:");

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let url = format!("http://{address}/v1/retrieve");
    let queries = Arc::new(queries());
    let (elapsed, mut latencies, errors) = run(requests, concurrency, &queries, move |q| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            match http
                .post(&url)
                .json(&serde_json::json!({"query": q, "top_k": 10}))
                .send()
                .await
            {
                Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                _ => false,
            }
        }
    })
    .await;
    latencies.sort();
    let peak_kib = kib(pid, "VmHWM:");
    drop(child.stdin.take());
    let _ = child.wait();

    let qps = requests as f64 / elapsed.as_secs_f64();
    let local: f64 = local_qps.parse().unwrap();
    println!(
        "ragweave serve, POST /v1/retrieve over loopback: {requests} requests at {concurrency} \
         connections, SciFact ({docs} documents, Qdrant Edge BM25, top 10)"
    );
    println!(
        "  HTTP:       {qps:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>6.2} ms  errors {errors}",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.last().map_or(f64::NAN, |m| m.0),
    );
    println!(
        "  in process: {local:>8.0} req/s  p50 {local_p50:>6} ms  p99 {local_p99:>6} ms  (same pipeline, same queries, no HTTP)"
    );
    println!(
        "  HTTP throughput / in-process throughput: {:.2}",
        qps / local
    );
    println!(
        "  server peak memory (VmHWM): {:.1} MiB when ready, {:.1} MiB after the load",
        ready_kib as f64 / 1024.0,
        peak_kib as f64 / 1024.0
    );
}
