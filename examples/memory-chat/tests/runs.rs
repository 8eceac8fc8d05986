//! The example with the tiny random-weight model it writes: memory grows with the
//! conversation, then the budget drops the oldest exchange.

fn recalls(budget: &str) -> Vec<usize> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_memory-chat"))
        .args(["--budget", budget])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .filter_map(|l| l.strip_prefix("memory recalls "))
        .map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
        .collect()
}

#[test]
fn memory_grows_then_the_budget_trims_it() {
    assert_eq!(
        recalls("100000"),
        [0, 2, 4],
        "a large budget recalls every exchange"
    );
    let trimmed = recalls("30");
    assert_eq!(trimmed[0], 0);
    assert!(
        trimmed[2] < 4,
        "a small budget drops the oldest: {trimmed:?}"
    );
}
