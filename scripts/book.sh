#!/usr/bin/env bash
# Builds the documentation book (docs/, mdBook) into target/book (open index.html there);
# installs mdbook first if the tools cache lacks it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tools="${RAGWEAVE_TOOLS:-$HOME/.cache/ragweave/tools}"
export PATH="$tools/bin:$PATH"
if ! mdbook --version 2>/dev/null | grep -q "v0.5.4"; then
  # Without the watch and serve features: a build is all CI needs, and it compiles in a minute.
  cargo install mdbook --version 0.5.4 --locked --no-default-features --features search --root "$tools"
fi
mdbook build "$root/docs"
echo "book: $root/target/book/index.html"
