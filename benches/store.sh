#!/usr/bin/env bash
# The Qdrant Edge store next to its peers, on this machine, in one run:
#  1. BM25 index + search on SciFact: ragweave-qdrant-edge vs the bm25s Python library;
#  2. `ragweave ingest` of SciFact, BM25 only (chunks/s);
#  3. hybrid search latency p50/p99 over N chunks of D-dim vectors (default 100000 x 384).
# Usage: bash benches/store.sh [N] [D]
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-100000}"
D="${2:-384}"
DATA="${RAGWEAVE_DATASETS:-../shared/datasets}/scifact"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ragweave/target}"

python3 -c "import bm25s, Stemmer" 2>/dev/null || pip install -q bm25s PyStemmer
cargo build -q -p ragweave-qdrant-edge --example store_bench
cargo build -q -p ragweave-cli
BENCH="$CARGO_TARGET_DIR/debug/examples/store_bench"
OUT="$(mktemp -d)"

for run in 1 2 3; do
  "$BENCH" bm25 "$DATA/corpus.jsonl" "$DATA/queries.jsonl" "$DATA/qrels/test.tsv" >> "$OUT/ours.jsonl"
  python3 benches/peers/bm25s_scifact.py "$DATA/corpus.jsonl" "$DATA/queries.jsonl" "$DATA/qrels/test.tsv" >> "$OUT/bm25s.jsonl"
done

start=$(date +%s.%N)
"$CARGO_TARGET_DIR/debug/ragweave" ingest "$DATA/corpus.jsonl" --store "$OUT/store" --quiet > "$OUT/ingest.txt"
end=$(date +%s.%N)

"$BENCH" hybrid "$N" "$D" "$DATA/corpus.jsonl" "$DATA/queries.jsonl" > "$OUT/hybrid.jsonl"

python3 - "$OUT" "$start" "$end" <<'PY'
import json, re, statistics, sys
out, start, end = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
load = lambda f: [json.loads(l) for l in open(f"{out}/{f}")]
ours, peer = load("ours.jsonl"), load("bm25s.jsonl")
med = lambda rows, k: statistics.median(r[k] for r in rows)
print("SciFact BM25 (5183 docs, 300 queries, median of 3 runs):")
print(f"  index:  ragweave-qdrant-edge {med(ours,'index_s'):.3f} s (on disk, flushed)  "
      f"bm25s {med(peer,'index_s'):.3f} s (in memory)  ratio {med(ours,'index_s')/med(peer,'index_s'):.2f}x")
print(f"  search: ragweave-qdrant-edge {med(ours,'search_s')*1e3:.1f} ms  "
      f"bm25s {med(peer,'search_s')*1e3:.1f} ms one query at a time, "
      f"{med(peer,'search_batched_s')*1e3:.1f} ms batched  "
      f"ratio {med(ours,'search_s')/med(peer,'search_s'):.2f}x (vs one at a time)")
print(f"  nDCG@10: ragweave-qdrant-edge {ours[0]['ndcg@10']:.4f}  bm25s {peer[0]['ndcg@10']:.4f}")
text = open(f"{out}/ingest.txt").read()
chunks = int(re.search(r"(\d+) chunks written", text).group(1))
print(f"ragweave ingest SciFact, BM25 only: {chunks} chunks in {end-start:.2f} s "
      f"= {chunks/(end-start):.0f} chunks/s (process start to exit)")
for row in load("hybrid.jsonl"):
    if "hybrid" in row:
        print(f"hybrid search, {row['chunks']} chunks x {row['dim']}-d, {row['hybrid']}: "
              f"p50 {row['p50_ms']:.2f} ms  p99 {row['p99_ms']:.2f} ms")
    else:
        print(f"  loading {row['chunks']} chunks: {row['ingest_s']:.1f} s "
              f"({row['ingest_chunks_per_s']:.0f} chunks/s); optimize {row['optimize_s']:.1f} s")
PY
