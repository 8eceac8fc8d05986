#!/usr/bin/env bash
# Decoding speed of ragweave's llama.cpp generator against a bare llama-cpp-2 loop on the same
# GGUF, side by side in one run: random weights in Qwen2.5-0.5B's shape (Q8_0), a 512-token
# prompt, 128 generated tokens, greedy. Prints tokens/s, time to first token and the ratio.
# Usage: bash benches/decode.sh [RUNS]   (writes a 505 MB model once under ~/.cache/ragweave/bench)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ragweave/target}"
cargo run -q --release -p ragweave-llama-cpp --example decode_bench -- "${1:-5}"
