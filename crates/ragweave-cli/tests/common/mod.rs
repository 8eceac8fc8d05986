//! Running the `ragweave` binary the way a user does, from the repository root.

#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (tests run `ragweave` there, so `docs` is the project's docs).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `ragweave ARGS` in the repository root, not yet started.
pub fn command(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ragweave"));
    c.args(args).current_dir(repo());
    c
}

/// Runs `ragweave ARGS` to completion.
pub fn ragweave(args: &[&str]) -> Output {
    command(args).output().expect("ragweave runs")
}

/// The standard output of a run that must have succeeded (else both outputs in the panic).
pub fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
