#!/usr/bin/env bash
# Embedding throughput, ragweave-candle against sentence-transformers, side by side in one run:
# the first 1,000 SciFact documents, batch 32, max length 256. fp32 against fp32, and the
# low-precision option (f16 on the CPU; candle 0.10 has no CPU bf16 GEMM) against
# sentence-transformers in bfloat16. fp32 runs twice: the default build (candle's GEMM) and the
# `openblas` feature (needs libopenblas-dev).
# Usage: bash benches/embed.sh [N]   (installs sentence-transformers into a venv under ~/.cache)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000}"
scripts/fetch-minilm.sh
model="${RAGWEAVE_MINILM:-$HOME/.cache/ragweave/models/all-MiniLM-L6-v2}"
corpus="${RAGWEAVE_DATASETS:-../shared/datasets}/scifact/corpus.jsonl"
venv="$HOME/.cache/ragweave/venv-st"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c "import sentence_transformers" 2>/dev/null || "$venv/bin/pip" install -q sentence-transformers
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ragweave/target}"
bench="$CARGO_TARGET_DIR/release/examples/embed_bench"
cargo build -q --release -p ragweave-candle --example embed_bench --features openblas
cp "$bench" "$CARGO_TARGET_DIR/embed_bench_openblas"
cargo build -q --release -p ragweave-candle --example embed_bench

rate() { sed -E 's/.*= ([0-9.]+) docs\/s.*/\1/'; }
st32=$(HF_HUB_OFFLINE=1 "$venv/bin/python" benches/peers/st_embed.py "$model" "$corpus" "$n" fp32 2>/dev/null | tail -1)
rw32=$("$bench" "$model" "$corpus" "$n" f32)
rwob=$("$CARGO_TARGET_DIR/embed_bench_openblas" "$model" "$corpus" "$n" f32)
stbf=$(HF_HUB_OFFLINE=1 "$venv/bin/python" benches/peers/st_embed.py "$model" "$corpus" "$n" bf16 2>/dev/null | tail -1)
rw16=$("$bench" "$model" "$corpus" "$n" f16)
printf '%s\n%s\n%s (openblas feature)\n%s\n%s\n' "$st32" "$rw32" "$rwob" "$stbf" "$rw16"
python3 - "$(echo "$rw32" | rate)" "$(echo "$rwob" | rate)" "$(echo "$st32" | rate)" "$(echo "$rw16" | rate)" "$(echo "$stbf" | rate)" <<'PY'
import sys
rw32, rwob, st32, rw16, stbf = map(float, sys.argv[1:])
print(f"fp32: ragweave / sentence-transformers = {rw32 / st32:.2f}x (default build), {rwob / st32:.2f}x (openblas)")
print(f"low precision (candle f16 vs torch bf16): {rw16 / stbf:.2f}x")
PY
