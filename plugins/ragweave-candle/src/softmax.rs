//! Scaled, masked softmax over attention scores in one parallel pass. As separate candle ops
//! (scale, broadcast add of the mask, softmax) the mask add alone ran on one thread and took
//! longer than the softmax: together they were a quarter of MiniLM's CPU time.

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};
use half::f16;
use rayon::prelude::*;

use crate::simd::softmax_in_place;

/// `softmax(scores * scale)` over the last dimension of `(batch, heads, queries, keys)`,
/// reading only the first `lengths[b]` keys of batch row `b` (the rest get probability 0).
pub(crate) fn masked_softmax(
    scores: &Tensor,
    scale: f64,
    lengths: &[usize],
    mask_bias: &Tensor,
) -> candle_core::Result<Tensor> {
    if scores.device().is_cpu() && scores.is_contiguous() {
        let (_, heads, queries, _) = scores.dims4()?;
        return scores.apply_op1_no_bwd(&MaskedSoftmax {
            scale: scale as f32,
            lengths: lengths.to_vec(),
            rows_per_batch: heads * queries,
        });
    }
    candle_nn::ops::softmax_last_dim(&(scores * scale)?.broadcast_add(mask_bias)?)
}

struct MaskedSoftmax {
    scale: f32,
    lengths: Vec<usize>,
    rows_per_batch: usize,
}

impl MaskedSoftmax {
    fn run<T: Copy + Default + Send + Sync>(
        &self,
        src: &[T],
        keys: usize,
        to: impl Fn(T) -> f32 + Sync,
        from: impl Fn(f32) -> T + Sync,
    ) -> Vec<T> {
        let mut dst = vec![T::default(); src.len()];
        dst.par_chunks_mut(keys)
            .zip(src.par_chunks(keys))
            .enumerate()
            .for_each(|(row, (d, s))| {
                let n = self.lengths[row / self.rows_per_batch].min(keys);
                let mut probs: Vec<f32> = s[..n].iter().map(|&x| to(x) * self.scale).collect();
                softmax_in_place(&mut probs);
                for (o, p) in d.iter_mut().zip(probs) {
                    *o = from(p);
                }
            });
        dst
    }
}

impl CustomOp1 for MaskedSoftmax {
    fn name(&self) -> &'static str {
        "ragweave-masked-softmax"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (start, end) = layout
            .contiguous_offsets()
            .ok_or_else(|| candle_core::Error::Msg("softmax: input not contiguous".into()))?;
        let keys = *layout.dims().last().unwrap_or(&1);
        let out = match storage {
            CpuStorage::F32(v) => CpuStorage::F32(self.run(&v[start..end], keys, |x| x, |x| x)),
            CpuStorage::F16(v) => {
                CpuStorage::F16(self.run(&v[start..end], keys, f16::to_f32, f16::from_f32))
            }
            other => {
                return Err(candle_core::Error::UnsupportedDTypeForOp(
                    other.dtype(),
                    "masked softmax",
                ));
            }
        };
        Ok((out, layout.shape().clone()))
    }
}
