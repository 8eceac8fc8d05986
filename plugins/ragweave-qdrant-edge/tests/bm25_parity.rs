//! The layout's BM25 encoder (what both Qdrant plugins write, without the engine) gives the
//! engine's own document weights, term for term, on every SciFact document and query, and on
//! text that tests the tokenizer's edges.

use qdrant_edge::bm25_embed::{EdgeBm25, EdgeBm25Config};
use ragweave_qdrant_layout::Bm25Encoder;

fn engine(avg_len: f32) -> EdgeBm25 {
    let config: EdgeBm25Config =
        serde_json::from_value(serde_json::json!({"language": "english", "avg_len": avg_len}))
            .unwrap();
    EdgeBm25::new(config).unwrap()
}

fn texts() -> Vec<String> {
    let dir = ragweave_testkit::datasets::dataset("scifact");
    let mut texts: Vec<String> = ["corpus.jsonl", "queries.jsonl"]
        .iter()
        .flat_map(|f| {
            let body = std::fs::read_to_string(dir.join(f)).unwrap();
            body.lines()
                .map(|l| {
                    let v: serde_json::Value = serde_json::from_str(l).unwrap();
                    let title = v["title"].as_str().unwrap_or_default();
                    format!("{title} {}", v["text"].as_str().unwrap())
                })
                .collect::<Vec<_>>()
        })
        .collect();
    texts.extend(
        [
            "",
            "the of and",
            "You're it's they'll: contractions split at the apostrophe",
            "ÉCOLE Straße naïve café 東京 données—très_bien x86-64 3.14",
            "running runs ran RUNNER",
        ]
        .map(String::from),
    );
    texts
}

#[test]
fn the_layout_weights_equal_the_engines_on_scifact() {
    for avg_len in [256.0, 60.0] {
        let ours = Bm25Encoder::new(avg_len).unwrap();
        let theirs = engine(avg_len);
        let texts = texts();
        assert!(texts.len() > 6000, "SciFact's corpus and queries");
        for text in &texts {
            let a = ours.encode(text);
            let b = theirs.embed_document(text);
            assert_eq!(a.indices, b.indices, "term ids of {text:?}");
            assert_eq!(a.values, b.values, "weights of {text:?}");
        }
    }
}
