//! The encoder's linear layers, on the fastest GEMM the build has. candle's CPU GEMM (the
//! `gemm` crate) uses AVX2 kernels on stable Rust; with the `openblas` feature, f32 layers on
//! the CPU call OpenBLAS's `sgemm`, which has AVX-512 kernels.

use candle_core::{Module, Tensor};
use candle_nn::Linear;

/// `x · Wᵀ + b` for a `(rows, in)` input.
pub(crate) enum Dense {
    Candle(Linear),
    #[cfg(feature = "openblas")]
    Blas(blas::BlasLinear),
}

impl Dense {
    pub fn new(weight: Tensor, bias: Tensor) -> candle_core::Result<Self> {
        #[cfg(feature = "openblas")]
        if weight.device().is_cpu() && weight.dtype() == candle_core::DType::F32 {
            return Ok(Dense::Blas(blas::BlasLinear::new(&weight, &bias)?));
        }
        Ok(Dense::Candle(Linear::new(weight, Some(bias))))
    }

    pub fn forward(&self, xs: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Dense::Candle(l) => l.forward(xs),
            #[cfg(feature = "openblas")]
            Dense::Blas(l) => xs.contiguous()?.apply_op1_no_bwd(l),
        }
    }
}

#[cfg(feature = "openblas")]
mod blas {
    use std::ffi::c_int;

    use candle_core::backend::BackendStorage;
    use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};

    const ROW_MAJOR: c_int = 101;
    const NO_TRANS: c_int = 111;
    const TRANS: c_int = 112;

    #[link(name = "openblas")]
    unsafe extern "C" {
        fn cblas_sgemm(
            order: c_int,
            trans_a: c_int,
            trans_b: c_int,
            m: c_int,
            n: c_int,
            k: c_int,
            alpha: f32,
            a: *const f32,
            lda: c_int,
            b: *const f32,
            ldb: c_int,
            beta: f32,
            c: *mut f32,
            ldc: c_int,
        );
    }

    /// Weights copied out of candle once, row-major `(out, in)`.
    pub(crate) struct BlasLinear {
        weight: Vec<f32>,
        bias: Vec<f32>,
        inp: usize,
        out: usize,
    }

    impl BlasLinear {
        pub fn new(weight: &Tensor, bias: &Tensor) -> candle_core::Result<Self> {
            let (out, inp) = weight.dims2()?;
            Ok(Self {
                weight: weight.flatten_all()?.to_vec1::<f32>()?,
                bias: bias.to_vec1::<f32>()?,
                inp,
                out,
            })
        }
    }

    impl CustomOp1 for BlasLinear {
        fn name(&self) -> &'static str {
            "ragweave-openblas-linear"
        }

        fn cpu_fwd(
            &self,
            storage: &CpuStorage,
            layout: &Layout,
        ) -> candle_core::Result<(CpuStorage, Shape)> {
            let CpuStorage::F32(x) = storage else {
                return Err(candle_core::Error::UnsupportedDTypeForOp(
                    storage.dtype(),
                    "openblas linear",
                ));
            };
            let (start, end) = layout
                .contiguous_offsets()
                .ok_or_else(|| candle_core::Error::Msg("linear: input not contiguous".into()))?;
            let (rows, inp) = layout.shape().dims2()?;
            if inp != self.inp {
                return Err(candle_core::Error::Msg(format!(
                    "linear: input has {inp} features, the layer takes {}",
                    self.inp
                )));
            }
            let x = &x[start..end];
            // Start from the bias and accumulate into it (beta = 1): the add costs nothing.
            let mut y = Vec::with_capacity(rows * self.out);
            for _ in 0..rows {
                y.extend_from_slice(&self.bias);
            }
            let dim = |n: usize| {
                c_int::try_from(n)
                    .map_err(|_| candle_core::Error::Msg(format!("linear: {n} exceeds BLAS int")))
            };
            let (m, n, k) = (dim(rows)?, dim(self.out)?, dim(self.inp)?);
            // SAFETY: x is rows × inp, weight out × inp, y rows × out, all row-major and
            // alive for the call; the leading dimensions match those shapes.
            unsafe {
                cblas_sgemm(
                    ROW_MAJOR,
                    NO_TRANS,
                    TRANS,
                    m,
                    n,
                    k,
                    1.0,
                    x.as_ptr(),
                    k,
                    self.weight.as_ptr(),
                    k,
                    1.0,
                    y.as_mut_ptr(),
                    n,
                );
            }
            Ok((CpuStorage::F32(y), Shape::from((rows, self.out))))
        }
    }
}
