//! The GGUF v3 container: metadata key/values, a tensor table, then aligned tensor data.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use super::numbers::{Rng, f16_bits};

const ALIGNMENT: u64 = 32;

/// A metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `UINT32`.
    U32(u32),
    /// `INT32`.
    I32(i32),
    /// `FLOAT32`.
    F32(f32),
    /// `BOOL`.
    Bool(bool),
    /// `STRING`.
    Str(String),
    /// `ARRAY` of `STRING`.
    StrArray(Vec<String>),
    /// `ARRAY` of `FLOAT32`.
    F32Array(Vec<f32>),
    /// `ARRAY` of `INT32`.
    I32Array(Vec<i32>),
}

impl Value {
    fn type_id(&self) -> u32 {
        match self {
            Value::U32(_) => 4,
            Value::I32(_) => 5,
            Value::F32(_) => 6,
            Value::Bool(_) => 7,
            Value::Str(_) => 8,
            Value::StrArray(_) | Value::F32Array(_) | Value::I32Array(_) => 9,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_string())
    }
}

impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::U32(v)
    }
}

/// How a tensor is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorType {
    /// 32-bit floats.
    F32,
    /// 16-bit floats.
    F16,
    /// 8-bit blocks of 32 values with one f16 scale each (the first dimension must be a
    /// multiple of 32).
    Q8_0,
}

impl TensorType {
    fn ggml_id(self) -> u32 {
        match self {
            TensorType::F32 => 0,
            TensorType::F16 => 1,
            TensorType::Q8_0 => 8,
        }
    }

    fn bytes(self, n: u64) -> u64 {
        match self {
            TensorType::F32 => n * 4,
            TensorType::F16 => n * 2,
            TensorType::Q8_0 => n / 32 * 34,
        }
    }
}

/// Where a tensor's values come from.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    /// These values, in GGUF order (the first dimension varies fastest).
    Values(Vec<f32>),
    /// Uniform random values in `[-scale, scale)` from a seeded stream (made while writing, so
    /// a large model never sits in memory).
    Random {
        /// Stream seed.
        seed: u64,
        /// Largest magnitude.
        scale: f32,
    },
    /// Every value the same (norm weights of 1, biases of 0).
    Fill(f32),
}

struct Tensor {
    name: String,
    dims: Vec<u64>,
    ty: TensorType,
    data: TensorData,
}

impl Tensor {
    fn len(&self) -> u64 {
        self.dims.iter().product()
    }
}

/// Builds a GGUF file in memory (metadata and tensor recipes) and writes it in one pass.
#[derive(Default)]
pub struct GgufWriter {
    kv: Vec<(String, Value)>,
    tensors: Vec<Tensor>,
}

impl GgufWriter {
    /// An empty file.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a metadata key (a later value for the same key replaces the earlier).
    pub fn kv(&mut self, key: &str, value: impl Into<Value>) -> &mut Self {
        let value = value.into();
        match self.kv.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.kv.push((key.to_string(), value)),
        }
        self
    }

    /// Adds a tensor. `dims` are in GGUF order: a PyTorch `[out, in]` weight is `[in, out]`.
    ///
    /// # Panics
    /// When the values do not fill the shape, or a Q8_0 tensor's rows are not whole blocks.
    pub fn tensor(
        &mut self,
        name: &str,
        dims: &[u64],
        ty: TensorType,
        data: TensorData,
    ) -> &mut Self {
        let t = Tensor {
            name: name.to_string(),
            dims: dims.to_vec(),
            ty,
            data,
        };
        if let TensorData::Values(v) = &t.data {
            assert_eq!(
                v.len() as u64,
                t.len(),
                "{name}: {} values for shape {dims:?}",
                v.len()
            );
        }
        if ty == TensorType::Q8_0 {
            assert_eq!(
                dims[0] % 32,
                0,
                "{name}: Q8_0 rows must be whole blocks of 32"
            );
        }
        self.tensors.push(t);
        self
    }

    /// Writes the file.
    pub fn write(&self, path: &Path) -> io::Result<()> {
        let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
        out.write_all(b"GGUF")?;
        out.write_all(&3u32.to_le_bytes())?;
        out.write_all(&(self.tensors.len() as u64).to_le_bytes())?;
        out.write_all(&(self.kv.len() as u64).to_le_bytes())?;
        let mut pos = 24u64;
        for (key, value) in &self.kv {
            pos += write_str(&mut out, key)?;
            out.write_all(&value.type_id().to_le_bytes())?;
            pos += 4 + write_value(&mut out, value)?;
        }
        let mut offset = 0u64;
        for t in &self.tensors {
            pos += write_str(&mut out, &t.name)?;
            out.write_all(&(t.dims.len() as u32).to_le_bytes())?;
            for d in &t.dims {
                out.write_all(&d.to_le_bytes())?;
            }
            out.write_all(&t.ty.ggml_id().to_le_bytes())?;
            out.write_all(&offset.to_le_bytes())?;
            pos += 4 + 8 * t.dims.len() as u64 + 4 + 8;
            offset = (offset + t.ty.bytes(t.len())).next_multiple_of(ALIGNMENT);
        }
        pad(&mut out, pos)?;
        for t in &self.tensors {
            let written = write_data(&mut out, t)?;
            pad(&mut out, written)?;
        }
        out.flush()
    }
}

fn pad(out: &mut impl Write, pos: u64) -> io::Result<()> {
    let n = pos.next_multiple_of(ALIGNMENT) - pos;
    out.write_all(&vec![0u8; n as usize])
}

fn write_str(out: &mut impl Write, s: &str) -> io::Result<u64> {
    out.write_all(&(s.len() as u64).to_le_bytes())?;
    out.write_all(s.as_bytes())?;
    Ok(8 + s.len() as u64)
}

fn write_value(out: &mut impl Write, value: &Value) -> io::Result<u64> {
    Ok(match value {
        Value::U32(v) => out.write_all(&v.to_le_bytes()).map(|_| 4)?,
        Value::I32(v) => out.write_all(&v.to_le_bytes()).map(|_| 4)?,
        Value::F32(v) => out.write_all(&v.to_le_bytes()).map(|_| 4)?,
        Value::Bool(v) => out.write_all(&[u8::from(*v)]).map(|_| 1)?,
        Value::Str(s) => write_str(out, s)?,
        Value::StrArray(items) => {
            out.write_all(&8u32.to_le_bytes())?;
            out.write_all(&(items.len() as u64).to_le_bytes())?;
            let mut n = 12;
            for s in items {
                n += write_str(out, s)?;
            }
            n
        }
        Value::F32Array(items) => {
            out.write_all(&6u32.to_le_bytes())?;
            out.write_all(&(items.len() as u64).to_le_bytes())?;
            for v in items {
                out.write_all(&v.to_le_bytes())?;
            }
            12 + 4 * items.len() as u64
        }
        Value::I32Array(items) => {
            out.write_all(&5u32.to_le_bytes())?;
            out.write_all(&(items.len() as u64).to_le_bytes())?;
            for v in items {
                out.write_all(&v.to_le_bytes())?;
            }
            12 + 4 * items.len() as u64
        }
    })
}

/// Streams a tensor's values in blocks of 32 (a Q8_0 block), converting as it goes.
fn write_data(out: &mut impl Write, t: &Tensor) -> io::Result<u64> {
    let n = t.len() as usize;
    let mut rng = match &t.data {
        TensorData::Random { seed, .. } => Some(Rng::for_tensor(*seed, &t.name)),
        _ => None,
    };
    let mut block = [0f32; 32];
    let mut bytes = Vec::with_capacity(128);
    let mut i = 0;
    while i < n {
        let len = 32.min(n - i);
        for (j, slot) in block[..len].iter_mut().enumerate() {
            *slot = match &t.data {
                TensorData::Values(v) => v[i + j],
                TensorData::Fill(x) => *x,
                TensorData::Random { scale, .. } => rng.as_mut().expect("random").uniform(*scale),
            };
        }
        bytes.clear();
        encode(t.ty, &block[..len], &mut bytes);
        out.write_all(&bytes)?;
        i += len;
    }
    Ok(t.ty.bytes(n as u64))
}

fn encode(ty: TensorType, values: &[f32], bytes: &mut Vec<u8>) {
    match ty {
        TensorType::F32 => values.iter().for_each(|v| bytes.extend(v.to_le_bytes())),
        TensorType::F16 => values
            .iter()
            .for_each(|v| bytes.extend(f16_bits(*v).to_le_bytes())),
        TensorType::Q8_0 => {
            let amax = values.iter().fold(0f32, |m, v| m.max(v.abs()));
            let d = amax / 127.0;
            let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
            bytes.extend(f16_bits(d).to_le_bytes());
            bytes.extend(values.iter().map(|v| (v * inv).round() as i8 as u8));
        }
    }
}
