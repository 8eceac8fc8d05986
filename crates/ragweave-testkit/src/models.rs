//! Real model files tests run on, cached outside the checkout.

use std::path::PathBuf;

/// The sentence-transformers/all-MiniLM-L6-v2 directory: `$RAGWEAVE_MINILM`, else
/// `~/.cache/ragweave/models/all-MiniLM-L6-v2`, where `scripts/fetch-minilm.sh` puts it.
///
/// Panics with the command to run when it is not there.
pub fn minilm() -> PathBuf {
    let dir = std::env::var_os("RAGWEAVE_MINILM")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
            PathBuf::from(home).join(".cache/ragweave/models/all-MiniLM-L6-v2")
        });
    assert!(
        dir.join("model.safetensors").exists(),
        "all-MiniLM-L6-v2 not found at {}: run scripts/fetch-minilm.sh (or set RAGWEAVE_MINILM)",
        dir.display()
    );
    dir
}
