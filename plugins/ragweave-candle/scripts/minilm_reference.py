"""Writes tests/fixtures/minilm_reference.json: sentence-transformers' all-MiniLM-L6-v2 vectors
for 32 varied texts, the reference ragweave-candle's embedder must match (cosine >= 0.9999).

Run once, by hand, when the texts change (needs `pip install sentence-transformers`):
    python plugins/ragweave-candle/scripts/minilm_reference.py [MODEL_DIR]
MODEL_DIR defaults to ~/.cache/ragweave/models/all-MiniLM-L6-v2 (scripts/fetch-minilm.sh).
"""

import json
import os
import sys
from pathlib import Path

import sentence_transformers
from sentence_transformers import SentenceTransformer

LONG = (
    "Retrieval-augmented generation first retrieves passages relevant to a question from a "
    "large corpus, then conditions a language model on them so that its answer is grounded in "
    "evidence and can cite its sources. "
) * 12  # about 420 word pieces: past the model's 256-token limit, so truncation matters

TEXTS = [
    "short",
    "a",
    "Hello, world!",
    "The mitochondria is the powerhouse of the cell.",
    "What is the capital of France?",
    "Paris is the capital and most populous city of France.",
    "0-dimensional biomaterials show inductive properties.",
    "ALDH1 expression is associated with poor prognosis in breast cancer.",
    "   leading and trailing whitespace   ",
    "Tabs\tand\nnewlines\n\nbetween words",
    "UPPERCASE TEXT IS LOWERCASED BY THE TOKENIZER",
    "Les réseaux de neurones apprennent des représentations.",
    "Über den Wolken muss die Freiheit wohl grenzenlos sein.",
    "Ça coûte 15 € — très cher, n'est-ce pas ?",
    "机器学习是人工智能的一个分支。",
    "東京は日本の首都です。",
    "Москва — столица России.",
    "القاهرة هي عاصمة مصر",
    "emoji 🦀🔥 and symbols ∑ ∫ √ ≠",
    "fn main() { println!(\"{}\", 1 + 2); }",
    "SELECT id, title FROM documents WHERE score > 0.5 ORDER BY score DESC;",
    "https://example.com/path?query=1&other=two#fragment",
    "3.14159 2.71828 1.41421 42 1e-9",
    "naïve café résumé coöperate façade",
    "word " * 300,
    LONG,
    LONG.upper(),
    "In 2019, a randomized controlled trial of 1,204 patients found no significant "
    "difference in mortality between the treatment and placebo groups (p = 0.42).",
    "Rust guarantees memory safety without a garbage collector, using ownership and borrowing.",
    "Dense retrieval encodes queries and passages into vectors and searches by cosine similarity.",
    "????!!!...",
    "[CLS] [SEP] [PAD] [MASK] special token strings in text",
]


def main() -> None:
    assert len(TEXTS) == 32, len(TEXTS)
    default = Path.home() / ".cache/ragweave/models/all-MiniLM-L6-v2"
    model_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    model = SentenceTransformer(str(model_dir), device="cpu")
    vectors = model.encode(TEXTS, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    out = {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "made_by": f"sentence-transformers {sentence_transformers.__version__}, "
        f"max_seq_length {model.max_seq_length}, fp32, normalized",
        "texts": TEXTS,
        "vectors": [[round(float(x), 7) for x in v] for v in vectors],
    }
    path = Path(__file__).resolve().parent.parent / "tests/fixtures/minilm_reference.json"
    path.write_text(json.dumps(out, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"{len(TEXTS)} vectors -> {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
