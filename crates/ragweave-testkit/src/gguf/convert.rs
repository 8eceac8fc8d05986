//! Hugging Face BERT checkpoints (config.json, tokenizer.json, model.safetensors) to GGUF,
//! the way llama.cpp's `convert_hf_to_gguf.py` lays them out.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::Path;

use serde_json::Value as Json;

use super::encoder::{BertShape, bert_metadata, bert_vocab};
use super::{GgufWriter, Pooling, TensorData, TensorType, TokenKind};

fn bad(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

fn read_json(path: &Path) -> io::Result<Json> {
    let text = fs::read_to_string(path)?;
    serde_json::from_str(&text).map_err(|e| bad(format!("{}: {e}", path.display())))
}

/// Converts a BERT model directory (sentence-transformers layout; a
/// `BertForSequenceClassification` head becomes a reranker) to an f32 GGUF at `out`.
pub fn convert_bert(dir: &Path, out: &Path) -> io::Result<()> {
    let config = read_json(&dir.join("config.json"))?;
    let num = |k: &str| {
        config[k]
            .as_u64()
            .ok_or_else(|| bad(format!("config.json: no integer {k}")))
    };
    let tensors = read_safetensors(&dir.join("model.safetensors"))?;
    let strip = |name: &str| name.strip_prefix("bert.").unwrap_or(name).to_string();
    let tensors: HashMap<String, (Vec<u64>, Vec<f32>)> =
        tensors.into_iter().map(|(k, v)| (strip(&k), v)).collect();
    let classifier = tensors.contains_key("classifier.weight");
    let pooling = if classifier {
        Pooling::Rank
    } else {
        match read_json(&dir.join("1_Pooling/config.json")) {
            Ok(p) if p["pooling_mode_cls_token"] == Json::Bool(true) => Pooling::Cls,
            _ => Pooling::Mean,
        }
    };
    let mut w = GgufWriter::new();
    bert_metadata(
        &mut w,
        &BertShape {
            n_embd: num("hidden_size")?,
            n_layer: num("num_hidden_layers")?,
            n_head: num("num_attention_heads")?,
            n_ff: num("intermediate_size")?,
            n_ctx: num("max_position_embeddings")? as u32,
            eps: config["layer_norm_eps"].as_f64().unwrap_or(1e-12) as f32,
            pooling,
        },
    );
    let (vocab, special) = wordpiece_vocab(&read_json(&dir.join("tokenizer.json"))?)?;
    bert_vocab(&mut w, &vocab, special);
    let mut names: Vec<&String> = tensors.keys().collect();
    names.sort();
    for name in names {
        let Some(gguf) = gguf_name(name, classifier) else {
            continue;
        };
        let (shape, values) = &tensors[name];
        let dims: Vec<u64> = shape.iter().rev().copied().collect();
        w.tensor(
            &gguf,
            &dims,
            TensorType::F32,
            TensorData::Values(values.clone()),
        );
    }
    w.write(out)
}

/// The GGUF name of a Hugging Face BERT tensor; `None` for tensors llama.cpp does not use.
fn gguf_name(name: &str, classifier: bool) -> Option<String> {
    let fixed = [
        ("embeddings.word_embeddings.weight", "token_embd.weight"),
        (
            "embeddings.token_type_embeddings.weight",
            "token_types.weight",
        ),
        (
            "embeddings.position_embeddings.weight",
            "position_embd.weight",
        ),
        ("embeddings.LayerNorm.weight", "token_embd_norm.weight"),
        ("embeddings.LayerNorm.bias", "token_embd_norm.bias"),
    ];
    if let Some((_, g)) = fixed.iter().find(|(h, _)| *h == name) {
        return Some(g.to_string());
    }
    if classifier {
        let head = [
            ("pooler.dense.weight", "cls.weight"),
            ("pooler.dense.bias", "cls.bias"),
            ("classifier.weight", "cls.output.weight"),
            ("classifier.bias", "cls.output.bias"),
        ];
        if let Some((_, g)) = head.iter().find(|(h, _)| *h == name) {
            return Some(g.to_string());
        }
    }
    let rest = name.strip_prefix("encoder.layer.")?;
    let (layer, part) = rest.split_once('.')?;
    let (module, param) = part.rsplit_once('.')?;
    let g = match module {
        "attention.self.query" => "attn_q",
        "attention.self.key" => "attn_k",
        "attention.self.value" => "attn_v",
        "attention.output.dense" => "attn_output",
        "attention.output.LayerNorm" => "attn_output_norm",
        "intermediate.dense" => "ffn_up",
        "output.dense" => "ffn_down",
        "output.LayerNorm" => "layer_output_norm",
        _ => return None,
    };
    Some(format!("blk.{layer}.{g}.{param}"))
}

/// The WordPiece vocabulary in id order, word starts marked with `▁` and `##` continuations
/// bare (llama.cpp's WPM tokenizer), and the `[cls, sep, unk, pad, mask]` ids.
fn wordpiece_vocab(tokenizer: &Json) -> io::Result<(Vocab, [u32; 5])> {
    let map = tokenizer["model"]["vocab"]
        .as_object()
        .ok_or_else(|| bad("tokenizer.json: no model.vocab (not a WordPiece tokenizer)"))?;
    let mut by_id = vec![String::new(); map.len()];
    for (token, id) in map {
        let id = id
            .as_u64()
            .ok_or_else(|| bad("tokenizer.json: non-integer id"))? as usize;
        let slot = by_id
            .get_mut(id)
            .ok_or_else(|| bad(format!("tokenizer.json: id {id} past the vocabulary")))?;
        *slot = token.clone();
    }
    let id_of = |t: &str| {
        map.get(t)
            .and_then(Json::as_u64)
            .map(|v| v as u32)
            .ok_or_else(|| bad(format!("tokenizer.json: no {t} token")))
    };
    let special = [
        id_of("[CLS]")?,
        id_of("[SEP]")?,
        id_of("[UNK]")?,
        id_of("[PAD]")?,
        id_of("[MASK]")?,
    ];
    let vocab = by_id
        .into_iter()
        .map(|t| {
            if t == "[UNK]" {
                (t, TokenKind::Unknown)
            } else if t.starts_with('[') && t.ends_with(']') {
                (t, TokenKind::Control)
            } else if let Some(piece) = t.strip_prefix("##") {
                (piece.to_string(), TokenKind::Normal)
            } else {
                (format!("\u{2581}{t}"), TokenKind::Normal)
            }
        })
        .collect();
    Ok((vocab, special))
}

type Vocab = Vec<(String, TokenKind)>;
type Tensors = Vec<(String, (Vec<u64>, Vec<f32>))>;

/// Reads every tensor of a safetensors file as f32 (F32, F16 and BF16 stored).
fn read_safetensors(path: &Path) -> io::Result<Tensors> {
    let bytes = fs::read(path)?;
    let header_len = u64::from_le_bytes(
        bytes
            .get(..8)
            .ok_or_else(|| bad("safetensors: truncated"))?
            .try_into()
            .expect("8 bytes"),
    ) as usize;
    let header: Json = serde_json::from_slice(
        bytes
            .get(8..8 + header_len)
            .ok_or_else(|| bad("safetensors: truncated header"))?,
    )
    .map_err(|e| bad(format!("safetensors header: {e}")))?;
    let data = &bytes[8 + header_len..];
    let mut out = Vec::new();
    for (name, info) in header
        .as_object()
        .ok_or_else(|| bad("safetensors: bad header"))?
    {
        if name == "__metadata__" {
            continue;
        }
        let shape: Vec<u64> = info["shape"]
            .as_array()
            .map(|a| a.iter().filter_map(Json::as_u64).collect())
            .unwrap_or_default();
        let [start, end] = [0, 1].map(|i| info["data_offsets"][i].as_u64().unwrap_or(0) as usize);
        let raw = data
            .get(start..end)
            .ok_or_else(|| bad(format!("safetensors: {name} outside the file")))?;
        let values: Vec<f32> = match info["dtype"].as_str() {
            Some("F32") => raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().expect("4")))
                .collect(),
            Some("BF16") => raw
                .chunks_exact(2)
                .map(|c| f32::from_bits(u32::from(u16::from_le_bytes([c[0], c[1]])) << 16))
                .collect(),
            Some("F16") => raw
                .chunks_exact(2)
                .map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])))
                .collect(),
            // Integer buffers (position_ids) are not weights.
            Some("I64" | "I32" | "U8" | "BOOL") => continue,
            other => return Err(bad(format!("safetensors: {name} has dtype {other:?}"))),
        };
        out.push((name.clone(), (shape, values)));
    }
    Ok(out)
}

fn f16_to_f32(h: u16) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((h >> 10) & 0x1f);
    let man = f32::from(h & 0x3ff);
    sign * match exp {
        0 => man * 2f32.powi(-24),
        0x1f if man == 0.0 => f32::INFINITY,
        0x1f => f32::NAN,
        e => (1.0 + man / 1024.0) * 2f32.powi(e - 15),
    }
}
