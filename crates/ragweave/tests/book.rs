//! The book in docs/: its config reference is the one the schema renders today, and its
//! links lead somewhere. (Its Rust examples compile and run as this crate's doctests.)

use std::path::{Path, PathBuf};

fn docs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs")
}

/// A registry with every plugin's kinds, whatever features this build has.
fn every_kind() -> ragweave_core::config::Registry {
    let mut registry = ragweave_core::config::Registry::with_builtins();
    ragweave_qdrant_edge::register(&mut registry);
    ragweave_qdrant::register(&mut registry);
    ragweave_candle::register(&mut registry);
    ragweave_llama_cpp::register(&mut registry);
    ragweave_mistralrs::register(&mut registry);
    ragweave_openai::register(&mut registry);
    registry
}

#[test]
fn the_config_reference_is_current() {
    let path = docs().join("reference/config.md");
    let rendered = every_kind().reference_markdown();
    if std::env::var_os("RAGWEAVE_BLESS").is_some() {
        std::fs::write(&path, &rendered).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == rendered,
        "docs/reference/config.md is not what the schema renders; regenerate it with \
         RAGWEAVE_BLESS=1 cargo test --workspace --test book"
    );
    for kind in [
        "qdrant_edge",
        "qdrant",
        "candle",
        "llama_cpp",
        "mistralrs",
        "openai",
        "pilot",
    ] {
        assert!(
            rendered.contains(&format!("### `kind = \"{kind}\"`")),
            "{kind} is listed"
        );
    }
}

/// The chapters SUMMARY.md lists.
fn chapters() -> Vec<PathBuf> {
    let summary = std::fs::read_to_string(docs().join("SUMMARY.md")).unwrap();
    links(&summary)
        .into_iter()
        .map(|link| docs().join(link))
        .collect()
}

/// Relative link targets in Markdown text, without anchors.
fn links(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut in_code = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
        }
        if in_code {
            continue;
        }
        let mut rest = line;
        while let Some(start) = rest.find("](") {
            let after = &rest[start + 2..];
            let Some(end) = after.find(')') else { break };
            let target = after[..end].split('#').next().unwrap_or_default();
            if !target.is_empty() && !target.contains("://") && !target.starts_with("mailto:") {
                found.push(target.to_string());
            }
            rest = &after[end..];
        }
    }
    found
}

#[test]
fn every_chapter_exists_and_every_link_resolves() {
    let chapters = chapters();
    assert!(
        chapters.len() >= 15,
        "SUMMARY.md lists {} chapters",
        chapters.len()
    );
    let mut broken = Vec::new();
    for chapter in &chapters {
        let Ok(text) = std::fs::read_to_string(chapter) else {
            broken.push(format!(
                "{} (listed in SUMMARY.md) is missing",
                chapter.display()
            ));
            continue;
        };
        let dir = chapter.parent().unwrap();
        for link in links(&text) {
            if !dir.join(&link).exists() {
                broken.push(format!("{}: {link}", chapter.display()));
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_link_finder_finds_links() {
    let text = "see [a](a.md#x) and [b](https://x.org)\n```\n[c](c.md)\n```\n![d](d.svg)";
    assert_eq!(links(text), ["a.md", "d.svg"]);
}
