//! The example on SciFact and ArguAna with the real MiniLM: held-out queries reach their own
//! domain's expert.

#[test]
fn routes_held_out_queries_to_their_domain() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_router"))
        .args(["32", "40"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = text
        .lines()
        .find(|l| l.starts_with("routed"))
        .expect("a routing line");
    let right: usize = line.split_whitespace().nth(6).unwrap().parse().unwrap();
    assert!(
        right >= 72,
        "at least 90% of 80 queries routed right (chance: 50%): {line}"
    );
    assert!(text.contains("route: scifact="), "{text}");
    assert!(text.contains("route: arguana="), "{text}");
}
