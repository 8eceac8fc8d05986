//! Turning per-token states into one vector, as the model's sentence-transformers config says.

use std::path::Path;

use candle_core::{IndexOp, Tensor};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::bert::{masked_max, masked_mean};
use crate::error::CandleError;
use crate::files::{ModelFiles, read_json};

/// How token states become a sentence vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// Mean over real tokens (MiniLM, e5, gte).
    Mean,
    /// The `[CLS]` token's state (bge).
    Cls,
    /// Elementwise max over real tokens.
    Max,
}

impl Pooling {
    /// The pooling in the model's `modules.json` / `1_Pooling/config.json`; mean when the
    /// model has no sentence-transformers config.
    pub fn of_model(files: &ModelFiles) -> Result<Self, CandleError> {
        let dir = files
            .optional("modules.json")
            .and_then(|p| pooling_dir(&p))
            .unwrap_or_else(|| "1_Pooling".into());
        let Some(path) = files.optional(&format!("{dir}/config.json")) else {
            return Ok(Pooling::Mean);
        };
        let cfg: Value = read_json(&path)?;
        let on = |key: &str| cfg.get(key).and_then(Value::as_bool).unwrap_or(false);
        if on("pooling_mode_cls_token") {
            Ok(Pooling::Cls)
        } else if on("pooling_mode_max_tokens") {
            Ok(Pooling::Max)
        } else if on("pooling_mode_mean_tokens") {
            Ok(Pooling::Mean)
        } else {
            Err(crate::error::bad_file(
                &path,
                "no pooling mode this crate supports (cls, mean or max tokens) is enabled",
            ))
        }
    }

    pub(crate) fn apply(self, states: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Pooling::Mean => masked_mean(states, mask),
            Pooling::Cls => states.i((.., 0, ..)),
            Pooling::Max => masked_max(states, mask),
        }
    }
}

fn pooling_dir(modules: &Path) -> Option<String> {
    let v: Value = read_json(modules).ok()?;
    v.as_array()?.iter().find_map(|m| {
        let ty = m.get("type")?.as_str()?;
        ty.ends_with("Pooling")
            .then(|| m.get("path")?.as_str().map(str::to_string))?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model_with(pooling: Option<(&str, &str)>) -> (tempfile::TempDir, ModelFiles) {
        let dir = tempfile::tempdir().unwrap();
        if let Some((path, json)) = pooling {
            std::fs::create_dir_all(dir.path().join(path)).unwrap();
            std::fs::write(dir.path().join(path).join("config.json"), json).unwrap();
            std::fs::write(
                dir.path().join("modules.json"),
                format!(
                    r#"[{{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"}},
                        {{"idx":1,"name":"1","path":"{path}","type":"sentence_transformers.models.Pooling"}}]"#
                ),
            )
            .unwrap();
        }
        let files = ModelFiles {
            name: "m".into(),
            dir: dir.path().to_path_buf(),
            config: dir.path().join("config.json"),
            tokenizer: dir.path().join("tokenizer.json"),
            weights: vec![],
        };
        (dir, files)
    }

    #[test]
    fn reads_the_pooling_module_that_modules_json_names() {
        let (_d, f) = model_with(Some(("pool", r#"{"pooling_mode_cls_token": true}"#)));
        assert_eq!(Pooling::of_model(&f).unwrap(), Pooling::Cls);
        let (_d, f) = model_with(Some(("1_Pooling", r#"{"pooling_mode_mean_tokens": true}"#)));
        assert_eq!(Pooling::of_model(&f).unwrap(), Pooling::Mean);
        let (_d, f) = model_with(None);
        assert_eq!(Pooling::of_model(&f).unwrap(), Pooling::Mean);
    }

    #[test]
    fn an_unsupported_pooling_is_an_error_naming_the_file() {
        let (_d, f) = model_with(Some(("1_Pooling", r#"{"pooling_mode_lasttoken": true}"#)));
        let err = Pooling::of_model(&f).unwrap_err();
        assert!(err.to_string().contains("1_Pooling/config.json"), "{err}");
    }

    #[test]
    fn cls_and_mean_pool_what_they_say() {
        let dev = candle_core::Device::Cpu;
        // One sequence of three tokens, the last one padding.
        let states = Tensor::new(&[[[1.0f32, 0.0], [3.0, 2.0], [100.0, 100.0]]], &dev).unwrap();
        let mask = Tensor::new(&[[1u32, 1, 0]], &dev).unwrap();
        let mean = Pooling::Mean
            .apply(&states, &mask)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        assert_eq!(mean, vec![vec![2.0, 1.0]]);
        let cls = Pooling::Cls
            .apply(&states, &mask)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        assert_eq!(cls, vec![vec![1.0, 0.0]]);
        let max = Pooling::Max
            .apply(&states, &mask)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        assert_eq!(max, vec![vec![3.0, 2.0]]);
    }
}
