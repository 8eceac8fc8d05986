//! Loading a GGUF model, with every check llama.cpp would otherwise answer with an abort
//! or a bare null pointer.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::model::params::LlamaModelParams;

use crate::backend::{backend, with_logged_errors};
use crate::error::LlamaCppError;
use crate::files::{check_gguf, resolve};

/// A loaded model and where it came from.
pub(crate) struct Loaded {
    pub model: Arc<LlamaModel>,
    pub path: PathBuf,
    pub architecture: String,
}

/// Resolves `spec` (a path or a hub file), checks the file, and loads it with `gpu_layers`
/// layers offloaded.
pub(crate) fn load(
    spec: &str,
    revision: Option<&str>,
    gpu_layers: u32,
) -> Result<Loaded, LlamaCppError> {
    let path = resolve(spec, revision)?;
    let architecture = check_gguf(&path)?;
    let backend = backend();
    if gpu_layers > 0 && !backend.supports_gpu_offload() {
        return Err(LlamaCppError::NoGpu {
            requested: gpu_layers,
        });
    }
    let params = LlamaModelParams::default().with_n_gpu_layers(gpu_layers);
    let (model, errors) =
        with_logged_errors(|| LlamaModel::load_from_file(backend, &path, &params));
    let model = model.map_err(|_| load_error(&path, &architecture, &errors))?;
    Ok(Loaded {
        model: Arc::new(model),
        path,
        architecture,
    })
}

fn load_error(path: &Path, architecture: &str, errors: &[String]) -> LlamaCppError {
    if errors
        .iter()
        .any(|l| l.contains("unknown model architecture"))
    {
        return LlamaCppError::UnsupportedArchitecture {
            path: path.to_path_buf(),
            architecture: architecture.to_string(),
        };
    }
    let reason = if errors.is_empty() {
        "llama.cpp returned no model and logged no reason".to_string()
    } else {
        errors.join("; ")
    };
    LlamaCppError::LoadFailed {
        path: path.to_path_buf(),
        reason,
    }
}

/// Threads for llama.cpp: the option, else every core.
pub(crate) fn threads(option: Option<u32>) -> i32 {
    let n = option
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(4, |n| n.get() as u32));
    n.max(1) as i32
}

/// The model's name for ids and messages: the file name without `.gguf`.
pub(crate) fn model_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "gguf".into())
}
