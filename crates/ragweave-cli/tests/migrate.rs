//! `ragweave migrate` end to end: the binary copies an ingested store into a collection on
//! the stand-in gRPC server (Qdrant's gRPC API over Qdrant Edge; see the Qdrant plugin's
//! tests), and `ragweave ask` then answers from the collection through a `kind = "qdrant"`
//! config. With `QDRANT_URL` the plugin's suite runs against a real server; here none can be
//! installed.

mod common;

#[path = "../../../plugins/ragweave-qdrant/tests/standin/mod.rs"]
mod standin;

use std::path::Path;
use std::process::Output;

use common::{ok, ragweave};

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

/// Runs the binary off the runtime's threads, so the stand-in keeps serving meanwhile.
async fn run(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ragweave(&args)
    })
    .await
    .unwrap()
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|x| x.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_copies_a_store_and_ask_answers_from_the_collection() {
    let dir = tempfile::tempdir().unwrap();
    let store = s(&dir.path().join("store"));
    ok(run(args(&["ingest", "docs", "--store", &store, "--quiet"])).await);
    let server = standin::StandIn::start(None).await;
    let url = server.url();
    let out = ok(run(args(&[
        "migrate",
        "--from",
        &store,
        "--to",
        &url,
        "--collection",
        "docs",
        "--batch",
        "16",
    ]))
    .await);
    let verified = out
        .split("verified: ")
        .nth(1)
        .unwrap_or_else(|| panic!("{out}"));
    let numbers: Vec<&str> = verified
        .split_whitespace()
        .filter(|w| w.parse::<usize>().is_ok())
        .collect();
    assert_eq!(numbers.len(), 2, "{out}");
    assert_eq!(numbers[0], numbers[1], "store and collection counts: {out}");
    assert_ne!(numbers[0], "0", "{out}");

    let config = dir.path().join("server.toml");
    std::fs::write(
        &config,
        format!("[experts.docs]\nkind = \"qdrant\"\nurl = \"{url}\"\ncollection = \"docs\"\n"),
    )
    .unwrap();
    let answer = ok(run(args(&[
        "ask",
        "how does the router choose experts?",
        "--config",
        &s(&config),
    ]))
    .await);
    let local = ok(run(args(&[
        "ask",
        "how does the router choose experts?",
        "--store",
        &store,
    ]))
    .await);
    assert!(answer.starts_with("[1] docs/"), "{answer}");
    assert_eq!(answer, local, "the collection answers as the store did");

    // Again into the same, now full, collection: refused, nothing written.
    let again = run(args(&[
        "migrate",
        "--from",
        &store,
        "--to",
        &url,
        "--collection",
        "docs",
    ]))
    .await;
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("already holds"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_names_a_server_that_is_down_and_a_store_that_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let store = s(&dir.path().join("store"));
    ok(run(args(&["ingest", "docs", "--store", &store, "--quiet"])).await);
    let url = standin::unused_url();
    let out = run(args(&[
        "migrate",
        "--from",
        &store,
        "--to",
        &url,
        "--collection",
        "docs",
    ]))
    .await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&url) && err.contains("unreachable"), "{err}");

    let missing = s(&dir.path().join("nothing"));
    let out = run(args(&[
        "migrate",
        "--from",
        &missing,
        "--to",
        &url,
        "--collection",
        "docs",
    ]))
    .await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("nothing") && err.contains("not found"),
        "{err}"
    );
}
