#!/usr/bin/env bash
# all-MiniLM-L6-v2 through llama.cpp (GGUF, converted by the testkit) against the candle
# plugin (safetensors) on the same SciFact documents, side by side in one run; prints docs/s
# and the ratio. Usage: bash benches/embed_engines.sh [N]   (default 300 documents)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/fetch-minilm.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ragweave/target}"
cargo run -q --release -p ragweave --features candle,llama-cpp --example embed_engines -- "${1:-300}"
