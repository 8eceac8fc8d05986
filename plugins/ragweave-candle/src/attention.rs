//! Self-attention fused into one CPU op over the QKV projection. Through candle's ops, the
//! per-head matmuls were hundreds of tiny multithreaded GEMMs (under 8 GFLOP/s), the scores of
//! every head were materialised (100 MB per layer at batch 32 × 256 tokens), and q, k, v were
//! copied out of the projection and the context copied back. Here each (sequence, head) is
//! one task on the rayon pool: scores for its real tokens only, softmax, then the weighted sum
//! of values, written straight into the merged `(batch, seq, hidden)` layout.

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};
use gemm::{Parallelism, gemm};
use rayon::prelude::*;

use crate::simd::softmax_in_place;

/// Attention over a `(batch, seq, 3 * hidden)` f32 QKV tensor on the CPU, or `None` where
/// the caller should use the general path (another device or dtype).
pub(crate) fn fused_attention(
    qkv: &Tensor,
    heads: usize,
    lengths: &[usize],
) -> candle_core::Result<Option<Tensor>> {
    if !qkv.device().is_cpu() || qkv.dtype() != candle_core::DType::F32 {
        return Ok(None);
    }
    let qkv = qkv.contiguous()?;
    let op = FusedAttention {
        heads,
        lengths: lengths.to_vec(),
    };
    Ok(Some(qkv.apply_op1_no_bwd(&op)?))
}

thread_local! {
    /// One score matrix per worker thread, reused: a fresh 256 KB buffer per (sequence, head)
    /// went through mmap and page faults every time.
    static SCORES: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

struct FusedAttention {
    heads: usize,
    lengths: Vec<usize>,
}

/// A pointer the tasks share; each writes a disjoint set of elements.
#[derive(Clone, Copy)]
struct Out(*mut f32);
// SAFETY: tasks write disjoint (row, head) blocks of the output; see `cpu_fwd`.
unsafe impl Send for Out {}
unsafe impl Sync for Out {}

impl Out {
    /// A method, so closures capture the whole (Sync) wrapper rather than its raw field.
    fn at(self, offset: usize) -> *mut f32 {
        self.0.wrapping_add(offset)
    }
}

impl CustomOp1 for FusedAttention {
    fn name(&self) -> &'static str {
        "ragweave-fused-attention"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let CpuStorage::F32(all) = storage else {
            return Err(candle_core::Error::UnsupportedDTypeForOp(
                storage.dtype(),
                "fused attention",
            ));
        };
        let (start, end) = layout
            .contiguous_offsets()
            .ok_or_else(|| candle_core::Error::Msg("attention: input not contiguous".into()))?;
        let qkv = &all[start..end];
        let (b, s, three_h) = layout.shape().dims3()?;
        let h = three_h / 3;
        let d = h / self.heads;
        if three_h != 3 * h || h != d * self.heads || self.lengths.len() != b {
            return Err(candle_core::Error::Msg(format!(
                "attention: shape ({b}, {s}, {three_h}) does not fit {} heads and {} lengths",
                self.heads,
                self.lengths.len()
            )));
        }
        let mut out = vec![0.0f32; b * s * h];
        let dst = Out(out.as_mut_ptr());
        let scale = 1.0 / (d as f32).sqrt();
        (0..b * self.heads).into_par_iter().for_each(|task| {
            let (row, head) = (task / self.heads, task % self.heads);
            let n = self.lengths[row].min(s);
            let base = row * s * three_h + head * d;
            let (q, k, v) = (&qkv[base..], &qkv[base + h..], &qkv[base + 2 * h..]);
            SCORES.with_borrow_mut(|buffer| {
                // The first GEMM overwrites every entry (it does not read `dst`): grow, never clear.
                if buffer.len() < n * n {
                    buffer.resize(n * n, 0.0);
                }
                let scores = &mut buffer[..n * n];
                // SAFETY: every pointer stays inside its slice: rows < n <= s apart by
                // `three_h` (inputs) or `h` (output), columns < d from a head's offset. Output
                // block (row, head) belongs to this task alone.
                unsafe {
                    // scores (n × n) = scale · Q (n × d) · Kᵀ (d × n)
                    gemm(
                        n,
                        n,
                        d,
                        scores.as_mut_ptr(),
                        1,
                        n as isize,
                        false,
                        q.as_ptr(),
                        1,
                        three_h as isize,
                        k.as_ptr(),
                        three_h as isize,
                        1,
                        0.0,
                        scale,
                        false,
                        false,
                        false,
                        Parallelism::None,
                    );
                    scores.chunks_mut(n).for_each(softmax_in_place);
                    // context (n × d) = P (n × n) · V (n × d), into the merged layout
                    gemm(
                        n,
                        d,
                        n,
                        dst.at(row * s * h + head * d),
                        1,
                        h as isize,
                        false,
                        scores.as_ptr(),
                        1,
                        n as isize,
                        v.as_ptr(),
                        1,
                        three_h as isize,
                        0.0,
                        1.0,
                        false,
                        false,
                        false,
                        Parallelism::None,
                    );
                }
            });
        });
        Ok((CpuStorage::F32(out), Shape::from((b, s, h))))
    }
}
