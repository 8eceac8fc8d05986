//! The cross-encoder on a tiny random BERT classifier the test writes (no reranker weights are
//! available offline), checked against a plain-Rust computation of the same logits.

use std::collections::HashMap;
use std::path::Path;

use ragweave_candle::{CrossEncoder, CrossEncoderOptions};
use ragweave_core::{Chunk, Hit, Query, Reranker};
use serde_json::json;

const HIDDEN: usize = 32;
const HEADS: usize = 4;
const LAYERS: usize = 2;
const INTER: usize = 64;
const POSITIONS: usize = 64;
const LABELS: usize = 2;
const WORDS: &[&str] = &[
    "paris",
    "is",
    "the",
    "capital",
    "of",
    "france",
    "what",
    "bananas",
    "are",
    "rich",
    "in",
    "potassium",
    "eiffel",
    "tower",
    "stands",
    "light",
    "energy",
    "##s",
    "##ing",
    ".",
    "?",
    ",",
];
const SPECIAL: &[&str] = &["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

type Weights = HashMap<String, (Vec<usize>, Vec<f32>)>;

/// Deterministic pseudo-random weights (xorshift), scaled like an initialised BERT.
fn random_weights() -> Weights {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ((state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) as f32 * 0.2
    };
    let vocab = SPECIAL.len() + WORDS.len();
    let mut w = Weights::new();
    let mut add = |name: &str, shape: Vec<usize>, ones: bool| {
        let n = shape.iter().product();
        let data = (0..n)
            .map(|_| if ones { 1.0 + next() } else { next() })
            .collect();
        w.insert(name.to_string(), (shape, data));
    };
    let e = "bert.embeddings";
    add(
        &format!("{e}.word_embeddings.weight"),
        vec![vocab, HIDDEN],
        false,
    );
    add(
        &format!("{e}.position_embeddings.weight"),
        vec![POSITIONS, HIDDEN],
        false,
    );
    add(
        &format!("{e}.token_type_embeddings.weight"),
        vec![2, HIDDEN],
        false,
    );
    add(&format!("{e}.LayerNorm.weight"), vec![HIDDEN], true);
    add(&format!("{e}.LayerNorm.bias"), vec![HIDDEN], false);
    for l in 0..LAYERS {
        let p = format!("bert.encoder.layer.{l}");
        for name in [
            "attention.self.query",
            "attention.self.key",
            "attention.self.value",
            "attention.output.dense",
        ] {
            add(&format!("{p}.{name}.weight"), vec![HIDDEN, HIDDEN], false);
            add(&format!("{p}.{name}.bias"), vec![HIDDEN], false);
        }
        add(
            &format!("{p}.intermediate.dense.weight"),
            vec![INTER, HIDDEN],
            false,
        );
        add(&format!("{p}.intermediate.dense.bias"), vec![INTER], false);
        add(
            &format!("{p}.output.dense.weight"),
            vec![HIDDEN, INTER],
            false,
        );
        add(&format!("{p}.output.dense.bias"), vec![HIDDEN], false);
        for norm in ["attention.output.LayerNorm", "output.LayerNorm"] {
            add(&format!("{p}.{norm}.weight"), vec![HIDDEN], true);
            add(&format!("{p}.{norm}.bias"), vec![HIDDEN], false);
        }
    }
    add("bert.pooler.dense.weight", vec![HIDDEN, HIDDEN], false);
    add("bert.pooler.dense.bias", vec![HIDDEN], false);
    add("classifier.weight", vec![LABELS, HIDDEN], false);
    add("classifier.bias", vec![LABELS], false);
    w
}

/// Writes config.json, tokenizer.json (BERT WordPiece) and model.safetensors into `dir`.
fn write_model(dir: &Path, weights: &Weights) {
    let vocab: serde_json::Map<String, serde_json::Value> = SPECIAL
        .iter()
        .chain(WORDS)
        .enumerate()
        .map(|(i, t)| (t.to_string(), json!(i)))
        .collect();
    let added: Vec<_> = SPECIAL
        .iter()
        .enumerate()
        .map(|(i, t)| {
            json!({"id": i, "content": t, "single_word": false, "lstrip": false,
            "rstrip": false, "normalized": false, "special": true})
        })
        .collect();
    let special = |t: &str, type_id: u32| json!({"SpecialToken": {"id": t, "type_id": type_id}});
    let seq = |s: &str, type_id: u32| json!({"Sequence": {"id": s, "type_id": type_id}});
    let tokenizer = json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
            "strip_accents": null, "lowercase": true},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "TemplateProcessing",
            "single": [special("[CLS]", 0), seq("A", 0), special("[SEP]", 0)],
            "pair": [special("[CLS]", 0), seq("A", 0), special("[SEP]", 0), seq("B", 1), special("[SEP]", 1)],
            "special_tokens": {
                "[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
            "max_input_chars_per_word": 100, "vocab": vocab}
    });
    std::fs::write(dir.join("tokenizer.json"), tokenizer.to_string()).unwrap();
    let config = json!({
        "architectures": ["BertForSequenceClassification"], "model_type": "bert",
        "vocab_size": SPECIAL.len() + WORDS.len(), "hidden_size": HIDDEN,
        "num_hidden_layers": LAYERS, "num_attention_heads": HEADS, "intermediate_size": INTER,
        "hidden_act": "gelu", "max_position_embeddings": POSITIONS, "type_vocab_size": 2,
        "layer_norm_eps": 1e-12, "pad_token_id": 0,
        "id2label": {"0": "irrelevant", "1": "relevant"}
    });
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    let bytes: HashMap<String, (Vec<usize>, Vec<u8>)> = weights
        .iter()
        .map(|(k, (shape, data))| {
            let b = data.iter().flat_map(|x| x.to_le_bytes()).collect();
            (k.clone(), (shape.clone(), b))
        })
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView)> = bytes
        .iter()
        .map(|(k, (shape, b))| {
            let view =
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), b)
                    .unwrap();
            (k.clone(), view)
        })
        .collect();
    safetensors::serialize_to_file(views, None, &dir.join("model.safetensors")).unwrap();
}

// ---- the second computation: BERT by hand, one sequence, no padding ----

fn erf(x: f32) -> f32 {
    // Abramowitz & Stegun 7.1.26, error below 1.5e-7.
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs() as f64);
    let y = 1.0
        - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736) * t
            + 0.254_829_592)
            * t
            * (-(x as f64) * x as f64).exp();
    (y as f32).copysign(x)
}

fn linear(w: &Weights, name: &str, x: &[f32]) -> Vec<f32> {
    let (shape, weight) = &w[&format!("{name}.weight")];
    let bias = &w[&format!("{name}.bias")].1;
    (0..shape[0])
        .map(|o| {
            bias[o]
                + (0..shape[1])
                    .map(|i| weight[o * shape[1] + i] * x[i])
                    .sum::<f32>()
        })
        .collect()
}

fn layer_norm(w: &Weights, name: &str, x: &[f32]) -> Vec<f32> {
    let n = x.len() as f32;
    let mean = x.iter().sum::<f32>() / n;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n;
    let (g, b) = (
        &w[&format!("{name}.weight")].1,
        &w[&format!("{name}.bias")].1,
    );
    x.iter()
        .enumerate()
        .map(|(i, v)| (v - mean) / (var + 1e-12).sqrt() * g[i] + b[i])
        .collect()
}

fn add(a: &[f32], b: &[f32]) -> Vec<f32> {
    a.iter().zip(b).map(|(x, y)| x + y).collect()
}

fn reference_logits(w: &Weights, ids: &[u32], types: &[u32]) -> Vec<f32> {
    let e = "bert.embeddings";
    let row = |name: &str, i: usize| w[name].1[i * HIDDEN..(i + 1) * HIDDEN].to_vec();
    let mut xs: Vec<Vec<f32>> = (0..ids.len())
        .map(|t| {
            let x = add(
                &add(
                    &row(&format!("{e}.word_embeddings.weight"), ids[t] as usize),
                    &row(&format!("{e}.position_embeddings.weight"), t),
                ),
                &row(
                    &format!("{e}.token_type_embeddings.weight"),
                    types[t] as usize,
                ),
            );
            layer_norm(w, &format!("{e}.LayerNorm"), &x)
        })
        .collect();
    let d = HIDDEN / HEADS;
    for l in 0..LAYERS {
        let p = format!("bert.encoder.layer.{l}");
        let q: Vec<_> = xs
            .iter()
            .map(|x| linear(w, &format!("{p}.attention.self.query"), x))
            .collect();
        let k: Vec<_> = xs
            .iter()
            .map(|x| linear(w, &format!("{p}.attention.self.key"), x))
            .collect();
        let v: Vec<_> = xs
            .iter()
            .map(|x| linear(w, &format!("{p}.attention.self.value"), x))
            .collect();
        let mut next = Vec::new();
        for t in 0..xs.len() {
            let mut ctx = vec![0.0f32; HIDDEN];
            for h in 0..HEADS {
                let r = h * d..(h + 1) * d;
                let scores: Vec<f32> = (0..xs.len())
                    .map(|s| {
                        q[t][r.clone()]
                            .iter()
                            .zip(&k[s][r.clone()])
                            .map(|(a, b)| a * b)
                            .sum::<f32>()
                            / (d as f32).sqrt()
                    })
                    .collect();
                let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let exp: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
                let total: f32 = exp.iter().sum();
                for (s, e) in exp.iter().enumerate() {
                    for (j, c) in r.clone().enumerate() {
                        ctx[c] += e / total * v[s][h * d + j];
                    }
                }
            }
            let attn = layer_norm(
                w,
                &format!("{p}.attention.output.LayerNorm"),
                &add(
                    &linear(w, &format!("{p}.attention.output.dense"), &ctx),
                    &xs[t],
                ),
            );
            let inter: Vec<f32> = linear(w, &format!("{p}.intermediate.dense"), &attn)
                .iter()
                .map(|x| 0.5 * x * (1.0 + erf(x / std::f32::consts::SQRT_2)))
                .collect();
            next.push(layer_norm(
                w,
                &format!("{p}.output.LayerNorm"),
                &add(&linear(w, &format!("{p}.output.dense"), &inter), &attn),
            ));
        }
        xs = next;
    }
    let pooled: Vec<f32> = linear(w, "bert.pooler.dense", &xs[0])
        .iter()
        .map(|x| x.tanh())
        .collect();
    linear(w, "classifier", &pooled)
}

const QUERY: &str = "What is the capital of France?";
const PASSAGES: &[&str] = &[
    "Paris is the capital of France.",
    "Bananas are rich in potassium.",
    "The Eiffel tower stands in Paris, the capital of France.",
    "light energy",
    "paris",
];

#[test]
fn logits_match_a_second_computation() {
    let dir = tempfile::tempdir().unwrap();
    let weights = random_weights();
    write_model(dir.path(), &weights);
    let model = CrossEncoder::load(
        dir.path().to_str().unwrap(),
        CrossEncoderOptions {
            batch_size: 3, // two batches, each padded to its longest pair
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(model.labels(), 2);
    let ours = model.logits(QUERY, PASSAGES).unwrap();

    let tokenizer = tokenizers::Tokenizer::from_file(dir.path().join("tokenizer.json")).unwrap();
    let mut worst = 0.0f32;
    for (p, got) in PASSAGES.iter().zip(&ours) {
        let enc = tokenizer.encode((QUERY, *p), true).unwrap();
        assert!(
            !enc.get_ids().contains(&1),
            "{p}: unknown word pieces in the test vocabulary"
        );
        let expected = reference_logits(&weights, enc.get_ids(), enc.get_type_ids());
        for (a, b) in got.iter().zip(&expected) {
            worst = worst.max((a - b).abs());
        }
    }
    println!("largest logit difference: {worst:e}");
    assert!(worst < 1e-4, "largest logit difference {worst}");
    // Scores are the relevant label's log-probability, so they order like the logit margin.
    let scores = model.scores(QUERY, PASSAGES).unwrap();
    for (s, l) in scores.iter().zip(&ours) {
        let lse = (l[0].exp() + l[1].exp()).ln();
        assert!((s - (l[1] - lse)).abs() < 1e-5);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reranks_by_its_scores_and_passes_the_suite() {
    let dir = tempfile::tempdir().unwrap();
    write_model(dir.path(), &random_weights());
    let model =
        CrossEncoder::load(dir.path().to_str().unwrap(), CrossEncoderOptions::default()).unwrap();
    ragweave_testkit::reranker::check(&model)
        .await
        .assert_passed();

    let hits: Vec<Hit> = PASSAGES
        .iter()
        .enumerate()
        .map(|(i, t)| {
            Hit::new(
                Chunk::new(format!("c{i}"), format!("d{i}"), *t),
                0.0,
                "bm25",
            )
        })
        .collect();
    let scores = model.scores(QUERY, PASSAGES).unwrap();
    let out = model.rerank(&Query::new(QUERY), hits).await.unwrap();
    assert_eq!(out.len(), PASSAGES.len());
    for h in &out {
        let i: usize = h.chunk.id[1..].parse().unwrap();
        assert_eq!(h.score, scores[i]);
    }
    assert!(out.windows(2).all(|w| w[0].score >= w[1].score));
}

#[test]
fn a_model_without_a_classifier_head_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut weights = random_weights();
    weights.retain(|k, _| !k.starts_with("classifier"));
    write_model(dir.path(), &weights);
    let err = CrossEncoder::load(dir.path().to_str().unwrap(), CrossEncoderOptions::default())
        .err()
        .expect("a model with no head must not load");
    assert!(err.to_string().contains("classifier"), "{err}");
}
