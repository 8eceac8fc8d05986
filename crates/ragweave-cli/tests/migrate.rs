//! `ragweave migrate` end to end: the binary copies an ingested store into a collection on a
//! real Qdrant server (the binary in `../shared/qdrant`, started here), and `ragweave ask`
//! then answers from the collection through a config whose store is `kind = "qdrant"`; and
//! between two stores a config names.

mod common;

use std::path::Path;
use std::process::Output;

use common::{ok, ragweave};

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

/// Runs the binary off the runtime's threads.
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
    let server = ragweave_testkit::qdrant::QdrantServer::start(None);
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
        format!(
            "[stores.docs]\nkind = \"qdrant\"\nurl = \"{url}\"\ncollection = \"docs\"\n\n\
             [experts.docs]\nkind = \"store\"\nstore = \"docs\"\n"
        ),
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
    let url = ragweave_testkit::qdrant::unused_url();
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

/// A config's store is whatever its kind: `ragweave ingest` writes the config's Qdrant
/// collection and `ragweave ask` answers from it exactly as from the embedded store built the
/// same way; `ragweave migrate --config` copies one of the config's stores into the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_and_ask_through_a_config_whose_store_is_a_qdrant_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = ragweave_testkit::qdrant::QdrantServer::start(None);
    let url = server.url();
    let write = |name: &str, store: &str| {
        let path = dir.path().join(name);
        std::fs::write(
            &path,
            format!(
                "[embedders.hash]\nkind = \"hashing\"\ndimension = 64\n\n\
                 [stores.docs]\n{store}\nembedder = \"hash\"\n\n\
                 [experts.docs]\nkind = \"store\"\nstore = \"docs\"\n"
            ),
        )
        .unwrap();
        s(&path)
    };
    let cluster = write(
        "cluster.toml",
        &format!("kind = \"qdrant\"\nurl = \"{url}\"\ncollection = \"notes\""),
    );
    let embedded = write("embedded.toml", "kind = \"qdrant_edge\"\npath = \"store\"");
    for config in [&cluster, &embedded] {
        let out = ok(run(args(&["ingest", "docs", "--config", config, "--quiet"])).await);
        assert!(out.contains("hybrid: BM25 + hashing"), "{out}");
    }
    let question = "how does the router choose experts?";
    let from_cluster = ok(run(args(&["ask", question, "--config", &cluster])).await);
    let from_disk = ok(run(args(&["ask", question, "--config", &embedded])).await);
    assert!(from_cluster.starts_with("[1] docs/"), "{from_cluster}");
    assert_eq!(from_cluster, from_disk, "the same hits from either store");
    // Ingesting again changes nothing in the collection.
    let again = ok(run(args(&["ingest", "docs", "--config", &cluster, "--quiet"])).await);
    assert!(again.contains("0 chunks written, 0 deleted"), "{again}");

    // Two stores of one config: the embedded one copied into a new collection.
    let both = dir.path().join("both.toml");
    std::fs::write(
        &both,
        format!(
            "[embedders.hash]\nkind = \"hashing\"\ndimension = 64\n\n\
             [stores.local]\nkind = \"qdrant_edge\"\npath = \"store\"\nembedder = \"hash\"\n\n\
             [stores.remote]\nkind = \"qdrant\"\nurl = \"{url}\"\ncollection = \"copy\"\nembedder = \"hash\"\n"
        ),
    )
    .unwrap();
    let out = ok(run(args(&[
        "migrate",
        "--config",
        &s(&both),
        "--from",
        "local",
        "--to",
        "remote",
        "--batch",
        "7",
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
    assert_eq!(numbers[0], numbers[1], "{out}");
    assert!(
        !dir.path()
            .join("ragweave-migrate-local-remote.json")
            .exists()
    );
}
