#!/usr/bin/env bash
# Decoding speed of ragweave's mistral.rs generator against its llama.cpp generator on the same
# GGUF, side by side in one run: random weights in Qwen2.5-0.5B's shape (Q8_0, GPT-2 byte
# vocabulary), the same 512-token chat prompt, 128 generated tokens, greedy. Prints tokens/s,
# time to first token and the ratios.
# Usage: bash benches/engines.sh [RUNS]   (writes a 505 MB model once under ~/.cache/ragweave/bench;
# a cold release build of mistral.rs takes 20-25 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ragweave/target}"
cargo run -q --release -p ragweave-mistralrs --example engine_bench -- "${1:-5}"
