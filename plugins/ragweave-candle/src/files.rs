//! Finding a model's files: a local Hugging Face-format directory, or a hub id.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{CandleError, bad_file};

/// The files of a Hugging Face-format encoder, found and checked.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    /// A name for the model: the hub id, or the directory's name.
    pub name: String,
    /// The directory holding `config.json`.
    pub dir: PathBuf,
    /// `config.json`.
    pub config: PathBuf,
    /// `tokenizer.json`.
    pub tokenizer: PathBuf,
    /// `model.safetensors`, or the shards a `model.safetensors.index.json` lists.
    pub weights: Vec<PathBuf>,
}

/// Files a sentence-transformers model may carry besides the encoder's own.
const OPTIONAL: &[&str] = &[
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
    "tokenizer_config.json",
];

impl ModelFiles {
    /// A local directory if `spec` names one, otherwise a hub id such as
    /// `sentence-transformers/all-MiniLM-L6-v2`.
    pub fn resolve(spec: &str, revision: Option<&str>) -> Result<Self, CandleError> {
        let path = Path::new(spec);
        if path.exists() {
            return Self::from_dir(path);
        }
        let is_hub_id = spec.split('/').count() == 2
            && !spec.starts_with('.')
            && spec
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
        if is_hub_id {
            return Self::from_hub(spec, revision);
        }
        Err(CandleError::MissingFile {
            dir: path.to_path_buf(),
            file: "config.json".into(),
            hint: "no such directory; pass a model directory or a hub id such as \
                   `sentence-transformers/all-MiniLM-L6-v2`"
                .into(),
        })
    }

    /// Checks a local directory for config, tokenizer and safetensors weights.
    pub fn from_dir(dir: &Path) -> Result<Self, CandleError> {
        let name = dir
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| dir.display().to_string());
        Self::in_dir(dir, name)
    }

    fn in_dir(dir: &Path, name: String) -> Result<Self, CandleError> {
        let need = |file: &str, hint: &str| {
            let p = dir.join(file);
            if p.is_file() {
                Ok(p)
            } else {
                Err(CandleError::MissingFile {
                    dir: dir.to_path_buf(),
                    file: file.into(),
                    hint: hint.into(),
                })
            }
        };
        let config = need(
            "config.json",
            "expected a Hugging Face-format model directory",
        )?;
        let tokenizer = need(
            "tokenizer.json",
            "save the tokenizer with `tokenizer.save_pretrained(dir)` from a fast tokenizer",
        )?;
        let weights = find_weights(dir)?;
        Ok(Self {
            name,
            dir: dir.to_path_buf(),
            config,
            tokenizer,
            weights,
        })
    }

    /// Downloads (or finds in the hub cache) the files of `repo` at `revision`, with a
    /// progress bar. Offline, the error says to pass a local directory.
    pub fn from_hub(repo: &str, revision: Option<&str>) -> Result<Self, CandleError> {
        use hf_hub::{Repo, RepoType, api::sync::ApiBuilder};
        let hub_err = |file: &str, reason: String| CandleError::Hub {
            repo: repo.to_string(),
            file: file.to_string(),
            reason,
        };
        let api = ApiBuilder::from_env()
            .with_progress(true)
            .build()
            .map_err(|e| hub_err("", e.to_string()))?;
        let repo_api = api.repo(Repo::with_revision(
            repo.to_string(),
            RepoType::Model,
            revision.unwrap_or("main").to_string(),
        ));
        let config = repo_api
            .get("config.json")
            .map_err(|e| hub_err("config.json", e.to_string()))?;
        repo_api
            .get("tokenizer.json")
            .map_err(|e| hub_err("tokenizer.json", e.to_string()))?;
        match repo_api.get("model.safetensors") {
            Ok(_) => {}
            Err(single) => {
                let index = repo_api
                    .get("model.safetensors.index.json")
                    .map_err(|_| hub_err("model.safetensors", single.to_string()))?;
                for shard in shard_names(&index)? {
                    repo_api
                        .get(&shard)
                        .map_err(|e| hub_err(&shard, e.to_string()))?;
                }
            }
        }
        for file in OPTIONAL {
            // Absent from many repositories; the model works without them.
            let _ = repo_api.get(file);
        }
        let dir = config.parent().unwrap_or(Path::new(".")).to_path_buf();
        Self::in_dir(&dir, repo.to_string())
    }

    /// A file beside the config, if the model has it.
    pub fn optional(&self, file: &str) -> Option<PathBuf> {
        let p = self.dir.join(file);
        p.is_file().then_some(p)
    }
}

fn find_weights(dir: &Path) -> Result<Vec<PathBuf>, CandleError> {
    let single = dir.join("model.safetensors");
    if single.is_file() {
        return Ok(vec![single]);
    }
    let index = dir.join("model.safetensors.index.json");
    if index.is_file() {
        let shards = shard_names(&index)?;
        return shards
            .into_iter()
            .map(|s| {
                let p = dir.join(&s);
                if p.is_file() {
                    Ok(p)
                } else {
                    Err(CandleError::MissingFile {
                        dir: dir.to_path_buf(),
                        file: s,
                        hint: "model.safetensors.index.json lists it".into(),
                    })
                }
            })
            .collect();
    }
    let hint = if dir.join("pytorch_model.bin").is_file() {
        "only pytorch_model.bin is there, which is not read (pickle); convert it to safetensors"
    } else {
        "the model's weights must be in safetensors format"
    };
    Err(CandleError::MissingFile {
        dir: dir.to_path_buf(),
        file: "model.safetensors".into(),
        hint: hint.into(),
    })
}

fn shard_names(index: &Path) -> Result<Vec<String>, CandleError> {
    #[derive(Deserialize)]
    struct Index {
        weight_map: std::collections::BTreeMap<String, String>,
    }
    let text = std::fs::read_to_string(index).map_err(|e| bad_file(index, e))?;
    let parsed: Index = serde_json::from_str(&text).map_err(|e| bad_file(index, e))?;
    let mut shards: Vec<String> = parsed.weight_map.into_values().collect();
    shards.sort();
    shards.dedup();
    Ok(shards)
}

/// Reads and parses a JSON file, naming it in the error.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, CandleError> {
    let text = std::fs::read_to_string(path).map_err(|e| bad_file(path, e))?;
    serde_json::from_str(&text).map_err(|e| bad_file(path, e))
}
