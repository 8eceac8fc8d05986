//! all-MiniLM-L6-v2 on candle against sentence-transformers' own vectors.

use ragweave_candle::{
    CandleEmbedder, CandleEmbedderOptions, CandleError, EngineOptions, Pooling, Precision,
};
use ragweave_core::{EmbedInput, Embedder, Error};
use serde_json::Value;

fn minilm(precision: Precision) -> CandleEmbedder {
    let dir = ragweave_testkit::models::minilm();
    let options = CandleEmbedderOptions {
        engine: EngineOptions {
            precision,
            ..Default::default()
        },
        ..Default::default()
    };
    CandleEmbedder::load(dir.to_str().unwrap(), options).expect("MiniLM loads")
}

fn reference() -> (Vec<String>, Vec<Vec<f32>>) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/minilm_reference.json"
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let texts = v["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    let vectors = v["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect()
        })
        .collect();
    (texts, vectors)
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

/// Lowest cosine between ours and the reference, and which text it was.
fn worst(ours: &[Vec<f32>], theirs: &[Vec<f32>]) -> (f32, usize) {
    ours.iter()
        .zip(theirs)
        .enumerate()
        .map(|(i, (a, b))| (cosine(a, b), i))
        .fold((1.0, 0), |w, c| if c.0 < w.0 { c } else { w })
}

#[test]
fn fp32_matches_sentence_transformers() {
    let (texts, expected) = reference();
    assert_eq!(texts.len(), 32);
    let embedder = minilm(Precision::F32);
    assert_eq!(embedder.dimension(), 384);
    assert_eq!(embedder.pooling(), Pooling::Mean);
    assert_eq!(embedder.max_length(), 256);
    assert_eq!(embedder.model_id(), "all-MiniLM-L6-v2");
    let ours = embedder
        .embed_blocking(&texts, EmbedInput::DOCUMENT)
        .unwrap();
    let (cos, i) = worst(&ours, &expected);
    println!("fp32: lowest cosine {cos:.7} (text {i}: {:?})", &texts[i]);
    assert!(cos >= 0.9999, "text {i} {:?}: cosine {cos}", texts[i]);
    for v in &ours {
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
    }
}

#[test]
fn f16_stays_close_to_the_reference() {
    let (texts, expected) = reference();
    let ours = minilm(Precision::F16)
        .embed_blocking(&texts, EmbedInput::DOCUMENT)
        .unwrap();
    let (cos, i) = worst(&ours, &expected);
    println!("f16: lowest cosine {cos:.5} (text {i}: {:?})", &texts[i]);
    assert!(cos >= 0.999, "text {i}: cosine {cos}");
}

#[test]
fn bf16_on_the_cpu_is_refused_up_front() {
    let options = CandleEmbedderOptions {
        engine: EngineOptions {
            precision: Precision::Bf16,
            ..Default::default()
        },
        ..Default::default()
    };
    let dir = ragweave_testkit::models::minilm();
    match CandleEmbedder::load(dir.to_str().unwrap(), options) {
        Err(CandleError::Option { option, reason }) => {
            assert_eq!(option, "precision", "{reason}");
            assert!(reason.contains("f16"), "{reason}");
        }
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("bf16 loaded on a CPU, where candle 0.10 cannot multiply bf16 matrices"),
    }
}

#[test]
fn long_texts_are_truncated_to_the_model_limit() {
    let embedder = minilm(Precision::F32);
    let base = "retrieval grounds answers in evidence ".repeat(80);
    let longer = format!("{base} and this tail lies past token 256 so it cannot matter");
    let v = embedder
        .embed_blocking(&[base, longer], EmbedInput::DOCUMENT)
        .unwrap();
    assert!(cosine(&v[0], &v[1]) > 0.99999);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_the_embedder_suite() {
    let embedder = minilm(Precision::F32);
    ragweave_testkit::embedder::check(&embedder)
        .await
        .assert_passed();
}

#[test]
fn blank_and_tokenless_texts_are_invalid_input() {
    let embedder = minilm(Precision::F32);
    for (bad, index) in [("  \n\t ", 1), ("\u{200b}\u{200b}", 1), ("\u{0}\u{1}", 1)] {
        let texts = vec!["fine".to_string(), bad.to_string()];
        match embedder.embed_blocking(&texts, EmbedInput::QUERY) {
            Err(Error::InvalidInput { field, reason }) => {
                assert_eq!(field, format!("texts[{index}]"), "{reason}");
            }
            other => panic!("{bad:?}: expected InvalidInput, got {other:?}"),
        }
    }
}

#[test]
fn counts_tokens_with_the_model_tokenizer() {
    let embedder = minilm(Precision::F32);
    let counter = embedder
        .token_counter()
        .expect("a tokenizer-backed counter");
    // Four word pieces in MiniLM's vocabulary: em ##bed ##ding ##s.
    assert_eq!(counter.count("embeddings"), 4);
    assert_eq!(counter.count("hello world"), 2);
    assert_eq!(embedder.max_input_tokens(), Some(254));
    let long = "word ".repeat(1000);
    assert_eq!(counter.count(&long), 1000, "the counter must not truncate");
}

/// A scratch copy of the model directory (links to the big files) whose `edit` can break it.
fn broken_copy(edit: impl FnOnce(&std::path::Path)) -> tempfile::TempDir {
    let src = ragweave_testkit::models::minilm();
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::os::unix::fs::symlink(entry.path(), dir.path().join(entry.file_name())).unwrap();
        }
    }
    edit(dir.path());
    dir
}

fn set_config(dir: &std::path::Path, key: &str, value: Value) {
    let path = dir.join("config.json");
    let mut config: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    config[key] = value;
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, config.to_string()).unwrap();
}

fn load_err(dir: &std::path::Path) -> CandleError {
    match CandleEmbedder::load(dir.to_str().unwrap(), CandleEmbedderOptions::default()) {
        Ok(_) => panic!("{} loaded", dir.display()),
        Err(e) => e,
    }
}

#[test]
fn a_directory_without_weights_names_the_missing_file() {
    let dir = broken_copy(|d| std::fs::remove_file(d.join("model.safetensors")).unwrap());
    match load_err(dir.path()) {
        CandleError::MissingFile { file, .. } => assert_eq!(file, "model.safetensors"),
        other => panic!("{other}"),
    }
    match load_err(&dir.path().join("nope")) {
        CandleError::MissingFile { file, .. } => assert_eq!(file, "config.json"),
        other => panic!("{other}"),
    }
}

#[test]
fn an_unsupported_architecture_is_refused() {
    let dir = broken_copy(|d| set_config(d, "model_type", "xlm-roberta".into()));
    match load_err(dir.path()) {
        CandleError::UnsupportedArchitecture { found, path, .. } => {
            assert_eq!(found, "xlm-roberta");
            assert!(path.ends_with("config.json"));
        }
        other => panic!("{other}"),
    }
}

#[test]
fn a_tokenizer_for_another_model_is_refused() {
    // A model with a smaller vocabulary than the tokenizer's 30522 word pieces.
    let dir = broken_copy(|d| set_config(d, "vocab_size", 1000.into()));
    match load_err(dir.path()) {
        CandleError::TokenizerMismatch {
            tokenizer_vocab,
            model_vocab,
            ..
        } => assert_eq!((tokenizer_vocab, model_vocab), (30522, 1000)),
        other => panic!("{other}"),
    }
}

#[test]
fn weights_that_disagree_with_the_config_are_refused() {
    let dir = broken_copy(|d| set_config(d, "hidden_size", 768.into()));
    match load_err(dir.path()) {
        CandleError::BadFile { path, reason } => {
            assert!(path.ends_with("model.safetensors"), "{reason}");
        }
        other => panic!("{other}"),
    }
}
