//! The example on a SciFact slice with the real MiniLM: all three modes find the relevant
//! documents, and fusing them does not fall below the weaker of the two.

#[test]
fn scores_sparse_dense_and_hybrid() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hybrid"))
        .args(["--docs", "80", "--queries", "12"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let score = |mode: &str| -> f64 {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("| {mode} |")))
            .expect(mode);
        line.split('|').nth(2).unwrap().trim().parse().unwrap()
    };
    let (sparse, dense, hybrid) = (score("Sparse"), score("Dense"), score("Hybrid"));
    for (mode, s) in [("sparse", sparse), ("dense", dense), ("hybrid", hybrid)] {
        assert!(
            s > 0.5,
            "{mode} nDCG@10 {s} on an 80-document slice:\n{text}"
        );
    }
    assert!(hybrid >= sparse.min(dense), "{text}");
}
