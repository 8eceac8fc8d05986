//! The example on SciFact: eight passages, laid out best at both ends.

#[test]
fn lays_out_the_best_passages_at_both_ends() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_reorder"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("prompt order (by rank): 1 3 5 7 8 6 4 2"),
        "{text}"
    );
    assert_eq!(
        text.lines().filter(|l| l.starts_with("  [")).count(),
        8,
        "{text}"
    );
}
