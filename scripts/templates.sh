#!/usr/bin/env bash
# Generates the cargo-generate templates in templates/ and builds and tests them against this
# checkout's crates (by path).
#
#   scripts/templates.sh generate     each template into generated/<my-NAME>, a workspace
#                                     member glob, so `cargo test --workspace` (and clippy,
#                                     fmt, doc) cover them; .ci/run does this
#   scripts/templates.sh clean        removes generated/ and restores Cargo.lock
#   scripts/templates.sh check        generate, `cargo test` each generated package, clean
#   scripts/templates.sh standalone   each template in a temporary directory as its own
#                                     project, as a user gets it (slow: each one builds its
#                                     own dependency variants, qdrant-edge and llama.cpp
#                                     included)
#
# Why members: a standalone project resolves features on its own, so it rebuilds most of its
# dependency tree (about 15-25 minutes per template on 2 cores, cold); as members they share
# the workspace's build, which keeps a cold CI run inside its 90 minutes.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
generated="$root/generated"
tools="${RAGWEAVE_TOOLS:-$HOME/.cache/ragweave/tools}"
export PATH="$tools/bin:$PATH"

templates=()
for dir in "$root"/templates/*/; do templates+=("$(basename "$dir")"); done

install_cargo_generate() {
  # 0.23.7 is the newest cargo-generate whose locked dependencies build on Rust 1.95; without
  # default features it leaves out libgit2, which local templates do not need.
  if ! cargo generate --version 2>/dev/null | grep -q "0.23.7"; then
    cargo install cargo-generate --version 0.23.7 --locked --no-default-features --root "$tools"
  fi
}

generate_into() {
  local destination="$1" template="$2"
  cargo generate --path "$root/templates/$template" --name "my-$template" \
    --destination "$destination" --silent --vcs none --define ragweave_path="$root" >/dev/null
}

generate() {
  install_cargo_generate
  clean
  # Members change Cargo.lock; keep the committed one to put back.
  cp "$root/Cargo.lock" "$generated/.Cargo.lock.committed"
  for template in "${templates[@]}"; do
    generate_into "$generated" "$template"
    echo "generated templates/$template -> generated/my-$template"
  done
}

clean() {
  if [ -f "$generated/.Cargo.lock.committed" ]; then
    cp "$generated/.Cargo.lock.committed" "$root/Cargo.lock"
  fi
  rm -rf "$generated"/my-* "$generated/.Cargo.lock.committed"
}

case "${1:-check}" in
  generate) generate ;;
  clean) clean ;;
  check)
    generate
    trap clean EXIT
    packages=()
    for template in "${templates[@]}"; do packages+=(-p "my-$template"); done
    (cd "$root" && cargo test "${packages[@]}")
    ;;
  standalone)
    install_cargo_generate
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    for template in "${templates[@]}"; do
      generate_into "$work" "$template"
      # The same dependency versions the workspace is tested with.
      cp "$root/Cargo.lock" "$work/my-$template/"
      (cd "$work/my-$template" && cargo test)
    done
    ;;
  *) echo "usage: $0 generate|clean|check|standalone" >&2; exit 2 ;;
esac
