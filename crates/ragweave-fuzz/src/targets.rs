//! What is fuzzed: each target reads bytes the way the SDK reads a user's file, a config or
//! a client's request.

mod beir;
mod config;
mod http;
mod loader;
mod seeds;
mod sse;

use crate::mutate::Mutator;

/// Something to fuzz.
pub trait Target {
    /// Its name in reports.
    fn name(&self) -> &'static str;

    /// The inputs it starts from and its format's tokens.
    fn mutator(&self) -> Mutator;

    /// Runs one input: `Ok(true)` when it got all the way through (a config that parsed, a
    /// file that loaded, a 2xx reply), `Ok(false)` when it was refused as it should be. A
    /// panic is a finding; so is an `Err`, for failures that are not panics here (a 500 from
    /// the server, two decodings of one input that differ).
    fn run(&mut self, input: &[u8]) -> Result<bool, String>;
}

/// Every target: config (TOML, JSON), the loaders (HTML, Markdown, JSONL, text), the chunker,
/// the BEIR loader, the SSE decoder and the HTTP API.
pub fn all() -> Vec<Box<dyn Target>> {
    vec![
        Box::new(config::Config::toml()),
        Box::new(config::Config::json()),
        Box::new(loader::Load::html()),
        Box::new(loader::Load::markdown()),
        Box::new(loader::Load::jsonl()),
        Box::new(loader::Load::text()),
        Box::new(loader::Chunking),
        Box::new(beir::Beir::new()),
        Box::new(sse::Sse),
        Box::new(http::Http::new()),
    ]
}

/// A directory for inputs that targets must write as files: in memory where `/dev/shm`
/// exists, so a million writes stay quick.
fn scratch() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = tempfile::tempdir_in(shm)
    {
        return dir;
    }
    tempfile::tempdir().expect("a temporary directory")
}

fn tokens(list: &[&str]) -> Vec<Vec<u8>> {
    list.iter().map(|t| t.as_bytes().to_vec()).collect()
}
