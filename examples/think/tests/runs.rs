//! The example with the tiny random-weight model it writes: a thought, and both rankings.

#[test]
fn thinks_then_retrieves() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_think"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("thought: ") && l.len() > 9),
        "{text}"
    );
    let ranked = |label: &str| {
        text.split(label).nth(1).map_or(0, |rest| {
            rest.lines()
                .skip(1)
                .take_while(|l| l.starts_with("  "))
                .count()
        })
    };
    assert!(ranked("without thinking:") >= 1, "{text}");
    assert!(ranked("with thinking:") >= 1, "{text}");
}
