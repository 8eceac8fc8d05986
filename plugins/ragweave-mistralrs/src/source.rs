//! Where a model comes from: a local GGUF file, a local Hugging Face-format directory, or
//! the hub; checked before mistral.rs sees it, so bad paths and unsupported architectures
//! are typed errors rather than mistral.rs's messages (or panics).

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file;

use crate::end_tokens;
use crate::error::MistralRsError;

/// `general.architecture` values mistral.rs 0.8 runs from GGUF as text models.
pub(crate) const GGUF_ARCHITECTURES: &[&str] = &[
    "llama",
    "mistral3",
    "phi2",
    "phi3",
    "starcoder2",
    "qwen2",
    "qwen3",
    "qwen3moe",
];

/// A located model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// A local GGUF file, with what its metadata says.
    GgufFile {
        path: PathBuf,
        architecture: String,
        chat_template: bool,
        end_tokens: Vec<u32>,
    },
    /// A local directory in Hugging Face layout (`config.json`, safetensors, tokenizer).
    HfDir { dir: PathBuf, architecture: String },
    /// A GGUF file in a hub repository.
    HubGguf { repo: String, file: String },
    /// A Hugging Face-format hub repository.
    HubRepo { repo: String },
}

impl Source {
    /// What to call the model in messages.
    pub fn name(&self) -> String {
        match self {
            Source::GgufFile { path, .. } => path.display().to_string(),
            Source::HfDir { dir, .. } => dir.display().to_string(),
            Source::HubGguf { repo, file } => format!("{repo}/{file}"),
            Source::HubRepo { repo } => repo.clone(),
        }
    }

    /// Tokens besides EOS that end a reply (see [`end_tokens`]); unknown for hub models.
    pub fn end_tokens(&self) -> Vec<u32> {
        match self {
            Source::GgufFile { end_tokens, .. } => end_tokens.clone(),
            Source::HfDir { dir, .. } => {
                end_tokens::from_tokenizer_json(&dir.join("tokenizer.json"))
            }
            Source::HubGguf { .. } | Source::HubRepo { .. } => Vec::new(),
        }
    }

    /// Whether mistral.rs fetches it from the hub.
    pub fn is_hub(&self) -> bool {
        matches!(self, Source::HubGguf { .. } | Source::HubRepo { .. })
    }
}

/// Finds `spec`: an existing path (a `.gguf` file, a directory with `config.json`, or a
/// directory holding exactly one `.gguf` file), else a hub id `owner/repo` (Hugging Face
/// format) or `owner/repo/file.gguf` / `owner/repo:file.gguf`.
pub(crate) fn locate(spec: &str) -> Result<Source, MistralRsError> {
    let path = Path::new(spec);
    if path.is_file() {
        return gguf_file_source(path);
    }
    if path.is_dir() {
        return dir_source(path);
    }
    if let Some((repo, file)) = hub_gguf(spec) {
        return Ok(Source::HubGguf { repo, file });
    }
    if is_hub_repo(spec) {
        return Ok(Source::HubRepo {
            repo: spec.to_string(),
        });
    }
    Err(MistralRsError::MissingFile {
        path: path.to_path_buf(),
        expected: "a .gguf file, a Hugging Face-format model directory, or a hub id".into(),
    })
}

fn gguf_file_source(path: &Path) -> Result<Source, MistralRsError> {
    let meta = read_gguf(path)?;
    Ok(Source::GgufFile {
        path: path.to_path_buf(),
        architecture: meta.architecture,
        chat_template: meta.chat_template,
        end_tokens: meta.end_tokens,
    })
}

fn dir_source(dir: &Path) -> Result<Source, MistralRsError> {
    let config = dir.join("config.json");
    if config.is_file() {
        let architecture = hf_architecture(&config)?;
        return Ok(Source::HfDir {
            dir: dir.to_path_buf(),
            architecture,
        });
    }
    let ggufs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "gguf"))
                .collect()
        })
        .unwrap_or_default();
    match ggufs.as_slice() {
        [one] => gguf_file_source(one),
        _ => Err(MistralRsError::MissingFile {
            path: config,
            expected: format!(
                "a Hugging Face-format model directory has config.json ({} .gguf files there; name one)",
                ggufs.len()
            ),
        }),
    }
}

/// What the plugin reads from a GGUF header.
pub(crate) struct GgufMeta {
    pub architecture: String,
    pub chat_template: bool,
    pub end_tokens: Vec<u32>,
}

/// Checks the magic bytes, parses the header and checks the architecture.
pub(crate) fn read_gguf(path: &Path) -> Result<GgufMeta, MistralRsError> {
    let missing = || MistralRsError::MissingFile {
        path: path.to_path_buf(),
        expected: "a .gguf file".into(),
    };
    let mut file = File::open(path).map_err(|_| missing())?;
    let mut magic = [0u8; 4];
    let read = file.read(&mut magic).map_err(|_| missing())?;
    if read < 4 || &magic != b"GGUF" {
        return Err(MistralRsError::NotGguf {
            path: path.to_path_buf(),
            found: String::from_utf8_lossy(&magic[..read]).into_owned(),
        });
    }
    let mut file = File::open(path).map_err(|_| missing())?;
    let content = gguf_file::Content::read(&mut file).map_err(|e| MistralRsError::LoadFailed {
        model: path.display().to_string(),
        reason: format!("malformed GGUF header: {e}"),
    })?;
    let architecture = content
        .metadata
        .get("general.architecture")
        .and_then(|v| v.to_string().ok())
        .cloned()
        .ok_or_else(|| MistralRsError::LoadFailed {
            model: path.display().to_string(),
            reason: "no general.architecture in its metadata".into(),
        })?;
    if !GGUF_ARCHITECTURES.contains(&architecture.to_ascii_lowercase().as_str()) {
        return Err(MistralRsError::UnsupportedArchitecture {
            model: path.display().to_string(),
            architecture,
            loader: "GGUF",
            supported: GGUF_ARCHITECTURES.join(", "),
        });
    }
    let chat_template = content.metadata.contains_key("tokenizer.chat_template");
    let strings = |key: &str| -> Vec<String> {
        let values = content.metadata.get(key).and_then(|v| v.to_vec().ok());
        values
            .into_iter()
            .flatten()
            .filter_map(|v| v.to_string().ok().cloned())
            .collect()
    };
    let types: Vec<i32> = content
        .metadata
        .get("tokenizer.ggml.token_type")
        .and_then(|v| v.to_vec().ok())
        .into_iter()
        .flatten()
        .filter_map(|v| v.to_i32().ok())
        .collect();
    let end_tokens = end_tokens::from_gguf(&strings("tokenizer.ggml.tokens"), &types);
    Ok(GgufMeta {
        architecture,
        chat_template,
        end_tokens,
    })
}

/// `architectures[0]` of a `config.json`.
pub(crate) fn hf_architecture(config: &Path) -> Result<String, MistralRsError> {
    let bad = |reason: String| MistralRsError::LoadFailed {
        model: config.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(config).map_err(|e| bad(e.to_string()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad(format!("invalid JSON: {e}")))?;
    json.get("architectures")
        .and_then(|a| a.get(0))
        .and_then(|a| a.as_str())
        .map(str::to_string)
        .ok_or_else(|| bad("no `architectures` entry".into()))
}

/// `owner/repo/path/file.gguf` or `owner/repo:file.gguf`; paths (`/x`, `./x`, `~/x`) never.
fn hub_gguf(spec: &str) -> Option<(String, String)> {
    if spec.starts_with(['/', '.', '~']) || !spec.ends_with(".gguf") {
        return None;
    }
    if let Some((repo, file)) = spec.split_once(':') {
        return is_hub_repo(repo).then(|| (repo.to_string(), file.to_string()));
    }
    let mut parts = spec.splitn(3, '/');
    let (owner, name, file) = (parts.next()?, parts.next()?, parts.next()?);
    let repo = format!("{owner}/{name}");
    is_hub_repo(&repo).then(|| (repo, file.to_string()))
}

fn is_hub_repo(spec: &str) -> bool {
    let parts: Vec<&str> = spec.split('/').collect();
    !spec.starts_with(['/', '.', '~'])
        && parts.len() == 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        })
        && !spec.ends_with(".gguf")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_ids_and_paths_are_told_apart() {
        assert_eq!(
            hub_gguf("Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q8_0.gguf"),
            Some((
                "Qwen/Qwen2.5-0.5B-Instruct-GGUF".into(),
                "qwen2.5-0.5b-instruct-q8_0.gguf".into()
            ))
        );
        assert_eq!(
            hub_gguf("a/b:sub/f.gguf"),
            Some(("a/b".into(), "sub/f.gguf".into()))
        );
        assert_eq!(hub_gguf("./models/x.gguf"), None);
        assert_eq!(hub_gguf("x.gguf"), None);
        assert!(is_hub_repo("Qwen/Qwen3-Embedding-0.6B"));
        assert!(!is_hub_repo("/abs/dir"));
        assert!(!is_hub_repo("models/x.gguf"));
        assert!(!is_hub_repo("a/b/c"));
        assert!(!is_hub_repo("has space/x"));
    }

    #[test]
    fn a_missing_path_that_is_no_hub_id_is_missing_file() {
        let e = locate("/nonexistent/model.gguf").unwrap_err();
        assert!(matches!(e, MistralRsError::MissingFile { .. }), "{e}");
        let e = locate("./rel/dir").unwrap_err();
        assert!(matches!(e, MistralRsError::MissingFile { .. }), "{e}");
    }
}
