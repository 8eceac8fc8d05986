//! The example: docs/pipeline.toml built from its config and asked, passages and stage times
//! printed.

#[test]
fn builds_the_config_and_answers() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_quickstart"))
        .arg("how does the pilot router choose experts?")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("1. ["), "a first passage: {text}");
    assert!(text.contains("retrieve:notes"), "stage times: {text}");
}
