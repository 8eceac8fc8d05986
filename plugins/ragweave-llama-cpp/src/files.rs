//! Finding a GGUF file (a path or a hub file) and checking it before llama.cpp opens it.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use llama_cpp_2::gguf::GgufContext;

use crate::error::LlamaCppError;

/// A local `.gguf` path, else a hub file as `owner/repo/file.gguf` (or `owner/repo:file.gguf`),
/// downloaded once into the Hugging Face cache; a bare `owner/repo` works when the repository
/// holds exactly one `.gguf` file (else the error lists them).
pub fn resolve(spec: &str, revision: Option<&str>) -> Result<PathBuf, LlamaCppError> {
    let path = Path::new(spec);
    if path.exists() {
        return Ok(path.to_path_buf());
    }
    let parts = hub_parts(spec)
        .map(|(repo, file)| (repo, Some(file)))
        .or_else(|| {
            let bare_repo = !spec.starts_with(['/', '.', '~'])
                && !spec.ends_with(".gguf")
                && spec.split('/').count() == 2
                && spec.split('/').all(|s| !s.is_empty());
            bare_repo.then(|| (spec.to_string(), None))
        });
    let Some((repo, file)) = parts else {
        return Err(LlamaCppError::MissingFile {
            path: path.to_path_buf(),
        });
    };
    let hub_err = |e: &dyn std::fmt::Display| LlamaCppError::Hub {
        spec: spec.to_string(),
        reason: e.to_string(),
    };
    let api = hf_hub::api::sync::ApiBuilder::from_env()
        .with_progress(true)
        .build()
        .map_err(|e| hub_err(&e))?;
    let repo = match revision {
        Some(rev) => hf_hub::Repo::with_revision(repo, hf_hub::RepoType::Model, rev.to_string()),
        None => hf_hub::Repo::model(repo),
    };
    let repo = api.repo(repo);
    let file = match file {
        Some(file) => file,
        None => {
            let info = repo.info().map_err(|e| hub_err(&e))?;
            let ggufs: Vec<String> = info
                .siblings
                .into_iter()
                .map(|s| s.rfilename)
                .filter(|f| f.ends_with(".gguf"))
                .collect();
            match ggufs.as_slice() {
                [one] => one.clone(),
                [] => return Err(hub_err(&"the repository has no .gguf file")),
                many => {
                    return Err(hub_err(&format!(
                        "the repository has {} .gguf files; name one as owner/repo/FILE: {}",
                        many.len(),
                        many.join(", ")
                    )));
                }
            }
        }
    };
    repo.get(&file).map_err(|e| hub_err(&e))
}

/// `owner/repo/dir/file.gguf` or `owner/repo:file.gguf` as (repo, file); absolute and
/// relative-looking paths (`/x`, `./x`) are never hub ids.
fn hub_parts(spec: &str) -> Option<(String, String)> {
    if spec.starts_with(['/', '.', '~']) || !spec.ends_with(".gguf") {
        return None;
    }
    if let Some((repo, file)) = spec.split_once(':') {
        return (repo.split('/').count() == 2).then(|| (repo.to_string(), file.to_string()));
    }
    let mut parts = spec.splitn(3, '/');
    let (owner, name, file) = (parts.next()?, parts.next()?, parts.next()?);
    Some((format!("{owner}/{name}"), file.to_string()))
}

/// Checks the magic bytes and returns `general.architecture`.
pub(crate) fn check_gguf(path: &Path) -> Result<String, LlamaCppError> {
    let mut magic = [0u8; 4];
    let read = File::open(path)
        .and_then(|mut f| f.read(&mut magic))
        .map_err(|_| LlamaCppError::MissingFile {
            path: path.to_path_buf(),
        })?;
    if read < 4 || &magic != b"GGUF" {
        return Err(LlamaCppError::NotGguf {
            path: path.to_path_buf(),
            found: String::from_utf8_lossy(&magic[..read]).into_owned(),
        });
    }
    let ctx = GgufContext::from_file(path).ok_or_else(|| LlamaCppError::LoadFailed {
        path: path.to_path_buf(),
        reason: "the GGUF header is malformed or truncated".into(),
    })?;
    let key = ctx.find_key("general.architecture");
    let arch = (key >= 0).then(|| ctx.val_str(key)).flatten();
    arch.map(str::to_string)
        .ok_or_else(|| LlamaCppError::LoadFailed {
            path: path.to_path_buf(),
            reason: "no general.architecture in its metadata".into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_specs_name_a_repo_and_a_file() {
        assert_eq!(
            hub_parts("Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q8_0.gguf"),
            Some((
                "Qwen/Qwen2.5-0.5B-Instruct-GGUF".into(),
                "qwen2.5-0.5b-instruct-q8_0.gguf".into()
            ))
        );
        assert_eq!(
            hub_parts("a/b:sub/f.gguf"),
            Some(("a/b".into(), "sub/f.gguf".into()))
        );
        assert_eq!(hub_parts("./models/x.gguf"), None);
        assert_eq!(hub_parts("/abs/x.gguf"), None);
        assert_eq!(hub_parts("x.gguf"), None);
        assert_eq!(hub_parts("a/b"), None);
    }
}
