//! The GGUF embedder and reranker: tiny random BERT models the tests write, and the real
//! all-MiniLM-L6-v2 converted to GGUF against sentence-transformers' vectors.

use std::path::PathBuf;

use ragweave_core::{Chunk, EmbedInput, Embedder, Error, Hit, Query, Reranker};
use ragweave_llama_cpp::{
    EmbeddingPooling, EncoderOptions, LlamaCppError, LlamaEmbedder, LlamaEmbedderOptions,
    LlamaReranker,
};
use ragweave_testkit::gguf::{DecoderSpec, EncoderSpec, convert_bert};

fn write(dir: &tempfile::TempDir, name: &str, spec: &EncoderSpec) -> String {
    let path = dir.path().join(name);
    spec.write(&path).unwrap();
    path.to_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn tiny_bert_embedder_passes_the_embedder_suite() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "tiny-bert.gguf", &EncoderSpec::tiny());
    let e = LlamaEmbedder::load(&path, LlamaEmbedderOptions::default()).unwrap();
    assert_eq!((e.dimension(), e.model_id()), (32, "tiny-bert"));
    ragweave_testkit::embedder::check(&e).await.assert_passed();
    // Many sequences per batch give what one at a time gives.
    let texts: Vec<String> = (0..40)
        .map(|i| format!("text number {i} about rivers"))
        .collect();
    let together = e.embed(&texts, EmbedInput::DOCUMENT).await.unwrap();
    for (t, v) in texts.iter().zip(&together) {
        let alone = e.embed_one(t, EmbedInput::DOCUMENT).await.unwrap();
        let dot: f32 = alone.iter().zip(v).map(|(a, b)| a * b).sum();
        assert!(dot > 0.99999, "{t}: cosine {dot}");
    }
    let blank = e
        .embed(&["ok".into(), "   ".into()], EmbedInput::DOCUMENT)
        .await
        .unwrap_err();
    assert!(
        matches!(blank, Error::InvalidInput { ref field, .. } if field == "texts[1]"),
        "{blank:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_decoder_without_pooling_metadata_needs_a_pooling_option() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("decoder.gguf");
    DecoderSpec::tiny().write(&path).unwrap();
    let refused = LlamaEmbedder::load(path.to_str().unwrap(), LlamaEmbedderOptions::default());
    assert!(
        matches!(refused, Err(LlamaCppError::WrongKind { .. })),
        "{refused:?}"
    );
    // Last-token pooling makes a decoder an embedder (Qwen3-Embedding's way).
    let e = LlamaEmbedder::load(
        path.to_str().unwrap(),
        LlamaEmbedderOptions {
            pooling: Some(EmbeddingPooling::Last),
            ..LlamaEmbedderOptions::default()
        },
    )
    .unwrap();
    assert_eq!(e.dimension(), 64);
    ragweave_testkit::embedder::check(&e).await.assert_passed();
}

#[tokio::test(flavor = "multi_thread")]
async fn tiny_reranker_scores_pairs_with_rank_pooling() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "tiny-reranker.gguf", &EncoderSpec::tiny_reranker());
    let r = LlamaReranker::load(&path, EncoderOptions::default()).unwrap();
    ragweave_testkit::reranker::check(&r).await.assert_passed();
    let passages = ["rivers run to the sea", "a b c", "mountains are tall", "x"];
    let together = r.scores("where do rivers go", &passages).await.unwrap();
    for (p, s) in passages.iter().zip(&together) {
        let alone = r.scores("where do rivers go", &[p]).await.unwrap()[0];
        assert!((alone - s).abs() < 1e-5, "{p}: {alone} alone, {s} batched");
    }
    assert!(
        together.windows(2).any(|w| (w[0] - w[1]).abs() > 1e-4),
        "scores should differ: {together:?}"
    );
    let hits: Vec<Hit> = passages
        .iter()
        .enumerate()
        .map(|(i, p)| Hit::new(Chunk::new(format!("c{i}"), "d", *p), 0.0, "bm25"))
        .collect();
    let ranked = r
        .rerank(&Query::new("where do rivers go"), hits)
        .await
        .unwrap();
    let mut expected = together.clone();
    expected.sort_by(|a, b| b.total_cmp(a));
    assert_eq!(ranked.iter().map(|h| h.score).collect::<Vec<_>>(), expected);
    // An embedding model is not a reranker.
    let embedder = write(&dir, "tiny-bert.gguf", &EncoderSpec::tiny());
    let refused = LlamaReranker::load(&embedder, EncoderOptions::default());
    assert!(
        matches!(refused, Err(LlamaCppError::WrongKind { .. })),
        "{refused:?}"
    );
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let n = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (n(a) * n(b))
}

#[tokio::test(flavor = "multi_thread")]
async fn minilm_converted_to_gguf_matches_sentence_transformers() {
    let dir = tempfile::tempdir().unwrap();
    let gguf = dir.path().join("all-MiniLM-L6-v2.gguf");
    convert_bert(&ragweave_testkit::models::minilm(), &gguf).unwrap();
    let e = LlamaEmbedder::load(
        gguf.to_str().unwrap(),
        LlamaEmbedderOptions {
            // sentence-transformers reads 256 word pieces of this model.
            encoder: EncoderOptions {
                max_length: Some(256),
                ..EncoderOptions::default()
            },
            ..LlamaEmbedderOptions::default()
        },
    )
    .unwrap();
    assert_eq!(e.dimension(), 384);
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../ragweave-candle/tests/fixtures/minilm_reference.json");
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    let texts: Vec<String> = serde_json::from_value(reference["texts"].clone()).unwrap();
    let expected: Vec<Vec<f32>> = serde_json::from_value(reference["vectors"].clone()).unwrap();
    let mut worst = (1.0f32, String::new());
    let mut low = Vec::new();
    for (t, want) in texts.iter().zip(&expected) {
        let Ok(got) = e.embed_one(t, EmbedInput::DOCUMENT).await else {
            low.push((t.clone(), f32::NAN));
            continue;
        };
        let c = cosine(&got, want);
        // The Hugging Face tokenizer reads "[CLS]" in the text as the special token; llama.cpp
        // reads it as text (parse_special is off for user text, on purpose).
        if t.contains("[CLS]") {
            eprintln!("special-token text: cosine {c:.4}");
            continue;
        }
        if c < worst.0 {
            worst = (c, t.chars().take(40).collect());
        }
        if c < 0.999 {
            low.push((t.chars().take(40).collect(), c));
        }
    }
    eprintln!(
        "GGUF MiniLM vs sentence-transformers over {} texts: lowest cosine {:.7} ({:?}); below 0.999: {low:?}",
        texts.len(),
        worst.0,
        worst.1
    );
    assert!(low.is_empty(), "texts that differ: {low:?}");
    let ascii_worst = texts
        .iter()
        .zip(&expected)
        .filter(|(t, _)| t.is_ascii() && !t.contains('['))
        .map(|(t, want)| {
            let got = futures::executor::block_on(e.embed_one(t, EmbedInput::DOCUMENT)).unwrap();
            cosine(&got, want)
        })
        .fold(1.0f32, f32::min);
    assert!(
        ascii_worst > 0.9999,
        "plain ASCII text: lowest cosine {ascii_worst}"
    );
}
