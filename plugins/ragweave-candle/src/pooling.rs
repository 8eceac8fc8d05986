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
