//! The safetensors format: a little-endian header length, a JSON table of tensors, raw data.

use std::io::{self, Write};
use std::path::Path;

use crate::gguf::Rng;

/// A tensor to write: name, shape (outermost first, as PyTorch lists it) and f32 values.
pub(crate) struct F32Tensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

impl F32Tensor {
    /// Uniform random in `[-scale, scale)`, seeded by the tensor's name.
    pub fn random(name: String, shape: &[usize], seed: u64, scale: f32) -> Self {
        let mut rng = Rng::for_tensor(seed, &name);
        let n = shape.iter().product();
        let values = (0..n).map(|_| rng.uniform(scale)).collect();
        Self {
            name,
            shape: shape.to_vec(),
            values,
        }
    }

    /// Every value `x` (norm weights).
    pub fn fill(name: String, shape: &[usize], x: f32) -> Self {
        let n = shape.iter().product();
        Self {
            name,
            shape: shape.to_vec(),
            values: vec![x; n],
        }
    }
}

/// Writes `tensors` as one `.safetensors` file, in the order given.
pub(crate) fn write(path: &Path, tensors: &[F32Tensor]) -> io::Result<()> {
    let mut table = serde_json::Map::new();
    let mut offset = 0usize;
    for t in tensors {
        let bytes = t.values.len() * 4;
        table.insert(
            t.name.clone(),
            serde_json::json!({
                "dtype": "F32",
                "shape": t.shape,
                "data_offsets": [offset, offset + bytes],
            }),
        );
        offset += bytes;
    }
    let mut header = serde_json::Value::Object(table).to_string().into_bytes();
    // The data must start 8-byte aligned.
    while !header.len().is_multiple_of(8) {
        header.push(b' ');
    }
    let mut out = io::BufWriter::new(std::fs::File::create(path)?);
    out.write_all(&(header.len() as u64).to_le_bytes())?;
    out.write_all(&header)?;
    for t in tensors {
        for v in &t.values {
            out.write_all(&v.to_le_bytes())?;
        }
    }
    out.flush()
}
