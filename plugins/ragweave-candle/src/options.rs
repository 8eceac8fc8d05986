//! Where and in what precision a model runs.

use candle_core::{DType, Device};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::CandleError;

/// The number format of weights and activations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// 32-bit floats: the reference numbers.
    #[default]
    F32,
    /// bfloat16: for GPUs. candle 0.10 cannot multiply bf16 matrices on the CPU, so loading
    /// a bf16 model there is an error.
    Bf16,
    /// IEEE half precision: GPUs, and the CPU's low-precision option.
    F16,
}

impl Precision {
    pub(crate) fn dtype(self) -> DType {
        match self {
            Precision::F32 => DType::F32,
            Precision::Bf16 => DType::BF16,
            Precision::F16 => DType::F16,
        }
    }
}

/// The hardware a model runs on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase", tag = "type")]
pub enum Accelerator {
    /// The CPU, using every core.
    #[default]
    Cpu,
    /// An NVIDIA GPU by ordinal; needs the crate's `cuda` feature.
    Cuda {
        /// Which GPU, from 0.
        #[serde(default)]
        ordinal: usize,
    },
}

impl Accelerator {
    pub(crate) fn device(self) -> Result<Device, CandleError> {
        match self {
            Accelerator::Cpu => Ok(Device::Cpu),
            Accelerator::Cuda { ordinal } => {
                if !cfg!(feature = "cuda") {
                    return Err(CandleError::Option {
                        option: "device",
                        reason: "this build has no CUDA support; enable the `cuda` feature \
                                 of ragweave-candle (and have the CUDA toolkit installed)"
                            .into(),
                    });
                }
                Ok(Device::new_cuda(ordinal)?)
            }
        }
    }
}

/// Where a model comes from and how it runs: what the embedder and the cross-encoder share.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EngineOptions {
    /// Hub revision (branch, tag or commit) for hub ids.
    pub revision: Option<String>,
    /// `f32` (default), `bf16` or `f16`.
    pub precision: Precision,
    /// `{ type = "cpu" }` (default) or `{ type = "cuda", ordinal = 0 }`.
    pub device: Accelerator,
    /// Longest input in tokens (longer ones are truncated; a pair's passage is cut first);
    /// default: the model's.
    pub max_length: Option<usize>,
}
