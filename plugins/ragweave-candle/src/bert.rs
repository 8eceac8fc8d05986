//! A BERT encoder on candle, written for inference speed: one fused QKV projection per layer,
//! 2-D GEMMs over all tokens of a batch, and a finite attention-mask value, so bf16 and f16
//! stay NaN-free (a mask of `f32::MIN` rounds to infinity in bf16, and `0 * inf` is NaN).

use candle_core::{D, DType, Device, Module, Tensor};
use candle_nn::{Embedding, LayerNorm, Linear, VarBuilder};
use serde::Deserialize;

use crate::attention::fused_attention;
use crate::dense::Dense;
use crate::softmax::masked_softmax;

/// The fields of a Hugging Face BERT `config.json` that inference needs.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    pub max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default)]
    pub pad_token_id: u32,
}

fn default_act() -> String {
    "gelu".into()
}
fn default_type_vocab() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}

/// Activations the encoder knows, by their `hidden_act` names.
pub(crate) const ACTIVATIONS: &[&str] = &["gelu", "gelu_new", "gelu_pytorch_tanh", "relu"];

/// Applies the activation, in place where it can: `xs` is a fresh layer output.
fn activate(act: &str, xs: Tensor) -> candle_core::Result<Tensor> {
    match act {
        "gelu" => crate::gelu::gelu_erf(xs),
        "relu" => xs.relu(),
        // The tanh approximation under its transformers names.
        _ => xs.gelu(),
    }
}

fn layer_norm(size: usize, eps: f64, vb: VarBuilder) -> candle_core::Result<LayerNorm> {
    // Checkpoints converted from TensorFlow name the parameters gamma and beta.
    let (w, b) = if vb.contains_tensor("weight") {
        ("weight", "bias")
    } else {
        ("gamma", "beta")
    };
    Ok(LayerNorm::new(vb.get(size, w)?, vb.get(size, b)?, eps))
}

pub(crate) fn linear(inp: usize, out: usize, vb: VarBuilder) -> candle_core::Result<Linear> {
    Ok(Linear::new(
        vb.get((out, inp), "weight")?,
        Some(vb.get(out, "bias")?),
    ))
}

fn dense(inp: usize, out: usize, vb: VarBuilder) -> candle_core::Result<Dense> {
    Dense::new(vb.get((out, inp), "weight")?, vb.get(out, "bias")?)
}

/// Applies a linear layer to every token of a `(batch, seq, in)` tensor as one 2-D GEMM.
fn apply_2d(layer: &Dense, xs: &Tensor) -> candle_core::Result<Tensor> {
    let (b, s, h) = xs.dims3()?;
    let out = layer.forward(&xs.reshape((b * s, h))?)?;
    let n = out.dim(1)?;
    out.reshape((b, s, n))
}

struct Layer {
    qkv: Dense,
    attn_out: Dense,
    attn_norm: LayerNorm,
    inter: Dense,
    out: Dense,
    out_norm: LayerNorm,
}

/// A BERT encoder: embeddings and transformer layers (no pooler; see the cross-encoder).
pub(crate) struct Bert {
    word: Embedding,
    position: Embedding,
    token_type: Embedding,
    emb_norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
    act: String,
    dtype: DType,
}

impl Bert {
    /// Loads the encoder from `vb` (already pointed at the `bert.` prefix, if any).
    pub fn load(vb: VarBuilder, cfg: &BertConfig) -> candle_core::Result<Self> {
        let h = cfg.hidden_size;
        let emb = vb.pp("embeddings");
        let word = Embedding::new(emb.get((cfg.vocab_size, h), "word_embeddings.weight")?, h);
        let position = Embedding::new(
            emb.get(
                (cfg.max_position_embeddings, h),
                "position_embeddings.weight",
            )?,
            h,
        );
        let token_type = Embedding::new(
            emb.get((cfg.type_vocab_size, h), "token_type_embeddings.weight")?,
            h,
        );
        let emb_norm = layer_norm(h, cfg.layer_norm_eps, emb.pp("LayerNorm"))?;
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for i in 0..cfg.num_hidden_layers {
            let l = vb.pp(format!("encoder.layer.{i}"));
            let att = l.pp("attention");
            let q = att.pp("self").pp("query");
            let k = att.pp("self").pp("key");
            let v = att.pp("self").pp("value");
            let qkv_w = Tensor::cat(
                &[
                    q.get((h, h), "weight")?,
                    k.get((h, h), "weight")?,
                    v.get((h, h), "weight")?,
                ],
                0,
            )?;
            let qkv_b = Tensor::cat(
                &[q.get(h, "bias")?, k.get(h, "bias")?, v.get(h, "bias")?],
                0,
            )?;
            layers.push(Layer {
                qkv: Dense::new(qkv_w, qkv_b)?,
                attn_out: dense(h, h, att.pp("output").pp("dense"))?,
                attn_norm: layer_norm(h, cfg.layer_norm_eps, att.pp("output").pp("LayerNorm"))?,
                inter: dense(h, cfg.intermediate_size, l.pp("intermediate").pp("dense"))?,
                out: dense(cfg.intermediate_size, h, l.pp("output").pp("dense"))?,
                out_norm: layer_norm(h, cfg.layer_norm_eps, l.pp("output").pp("LayerNorm"))?,
            });
        }
        Ok(Self {
            word,
            position,
            token_type,
            emb_norm,
            layers,
            heads: cfg.num_attention_heads,
            act: cfg.hidden_act.clone(),
            dtype: vb.dtype(),
        })
    }

    /// Hidden states `(batch, seq, hidden)` for token ids, token type ids and a 0/1 mask,
    /// all `(batch, seq)` u32 tensors; `lengths` are the real tokens of each row.
    pub fn forward(
        &self,
        ids: &Tensor,
        type_ids: &Tensor,
        mask: &Tensor,
        lengths: &[usize],
    ) -> candle_core::Result<Tensor> {
        let (b, s) = ids.dims2()?;
        let positions = Tensor::arange(0u32, s as u32, ids.device())?;
        let xs = self
            .word
            .forward(ids)?
            .add(&self.token_type.forward(type_ids)?)?
            .broadcast_add(&self.position.forward(&positions)?)?;
        let mut xs = self.emb_norm.forward(&xs)?;
        let bias = self.mask_bias(mask)?;
        for layer in &self.layers {
            xs = self.layer(layer, &xs, &bias, lengths, b, s)?;
        }
        Ok(xs)
    }

    /// `(batch, 1, 1, seq)`: 0 where a token is real, a large negative where it is padding.
    fn mask_bias(&self, mask: &Tensor) -> candle_core::Result<Tensor> {
        let negative = match self.dtype {
            DType::F16 => -6e4,
            _ => -1e30,
        };
        let (b, s) = mask.dims2()?;
        let keep = mask.to_dtype(DType::F32)?;
        ((keep - 1.0)? * -negative)?
            .to_dtype(self.dtype)?
            .reshape((b, 1, 1, s))
    }

    fn layer(
        &self,
        l: &Layer,
        xs: &Tensor,
        bias: &Tensor,
        lengths: &[usize],
        b: usize,
        s: usize,
    ) -> candle_core::Result<Tensor> {
        let qkv = apply_2d(&l.qkv, xs)?;
        let ctx = match fused_attention(&qkv, self.heads, lengths)? {
            Some(ctx) => ctx,
            None => self.attention(&qkv, bias, lengths, b, s)?,
        };
        let attn = l
            .attn_norm
            .forward(&apply_2d(&l.attn_out, &ctx)?.add(xs)?)?;
        let inter = activate(&self.act, apply_2d(&l.inter, &attn)?)?;
        l.out_norm.forward(&apply_2d(&l.out, &inter)?.add(&attn)?)
    }

    /// Attention through candle's general ops: GPUs and half precision.
    fn attention(
        &self,
        qkv: &Tensor,
        bias: &Tensor,
        lengths: &[usize],
        b: usize,
        s: usize,
    ) -> candle_core::Result<Tensor> {
        let h = qkv.dim(2)? / 3;
        let d = h / self.heads;
        let split = |i: usize| -> candle_core::Result<Tensor> {
            qkv.narrow(2, i * h, h)?
                .reshape((b, s, self.heads, d))?
                .transpose(1, 2)?
                .contiguous()
        };
        let (q, k, v) = (split(0)?, split(1)?, split(2)?);
        let scores = q.matmul(&k.t()?)?;
        let probs = masked_softmax(&scores, 1.0 / (d as f64).sqrt(), lengths, bias)?;
        probs
            .matmul(&v)?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((b, s, h))
    }
}

/// Where the encoder's tensors start in a checkpoint: at the root, or under `bert.` as in
/// `BertForSequenceClassification` checkpoints.
pub(crate) fn encoder_prefix(vb: &VarBuilder) -> Option<&'static str> {
    const PROBE: &str = "embeddings.word_embeddings.weight";
    if vb.contains_tensor(PROBE) {
        Some("")
    } else if vb.pp("bert").contains_tensor(PROBE) {
        Some("bert")
    } else {
        None
    }
}

/// Builds `(batch, seq)` id, type-id and mask tensors from tokenized inputs, padding each
/// to the batch's longest.
pub(crate) fn batch_tensors(
    rows: &[(&[u32], &[u32])],
    pad_id: u32,
    device: &Device,
) -> candle_core::Result<(Tensor, Tensor, Tensor)> {
    let width = rows.iter().map(|(ids, _)| ids.len()).max().unwrap_or(0);
    let n = rows.len();
    let mut ids = vec![pad_id; n * width];
    let mut types = vec![0u32; n * width];
    let mut mask = vec![0u32; n * width];
    for (r, (row_ids, row_types)) in rows.iter().enumerate() {
        let at = r * width;
        ids[at..at + row_ids.len()].copy_from_slice(row_ids);
        types[at..at + row_types.len()].copy_from_slice(row_types);
        mask[at..at + row_ids.len()].fill(1);
    }
    Ok((
        Tensor::from_vec(ids, (n, width), device)?,
        Tensor::from_vec(types, (n, width), device)?,
        Tensor::from_vec(mask, (n, width), device)?,
    ))
}

/// Sum over the sequence of `xs` `(batch, seq, hidden)` weighted by `mask` `(batch, seq)`.
pub(crate) fn masked_mean(xs: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
    let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
    let sum = xs.broadcast_mul(&m)?.sum(1)?;
    let count = m.sum(1)?.clamp(1e-9, f64::INFINITY)?;
    sum.broadcast_div(&count)
}

/// Max over the real tokens of each sequence.
pub(crate) fn masked_max(xs: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
    let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
    let penalty = ((m - 1.0)? * 1e9)?;
    xs.broadcast_add(&penalty)?.max(1)
}

/// Divides each row by its L2 norm.
pub(crate) fn l2_normalize(xs: &Tensor) -> candle_core::Result<Tensor> {
    let norm = xs
        .sqr()?
        .sum_keepdim(D::Minus1)?
        .sqrt()?
        .clamp(1e-12, f64::INFINITY)?;
    xs.broadcast_div(&norm)
}
