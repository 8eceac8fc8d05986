//! The example, both halves: the embedded store, then the cluster half against a real Qdrant
//! server the test starts (the binary in `../shared/qdrant`); the example fails unless both
//! stores give the same passages.

#[test]
fn moves_the_pipeline_to_a_cluster() {
    let server = ragweave_testkit::qdrant::QdrantServer::start(None);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_qdrant-cluster"))
        .env("QDRANT_URL", server.url())
        .env_remove("QDRANT_API_KEY")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hits = text
        .lines()
        .find(|l| l.starts_with("qdrant_edge answers"))
        .expect("an answer");
    assert!(
        hits.contains("with [\""),
        "the embedded store found passages: {hits}"
    );
    assert!(text.contains("same passages from both stores"), "{text}");
}
