#!/usr/bin/env bash
# Writes experiments/<dataset>/adaptive[-NAME].toml: the dataset's chosen fixed fusion
# (union-score-dense0.5.toml) with a fitted [fusion.adaptive] section appended.
# Usage: experiments/adaptive/make.sh SECTION.toml NAME
set -euo pipefail
cd "$(dirname "$0")/../.."
section=$1 name=$2
for ds in scifact arguana msmarco-trecdl19-subset5k; do
  out="experiments/$ds/$name.toml"
  {
    cat "experiments/$ds/union-score-dense0.5.toml"
    echo
    cat "$section"
  } > "$out"
  echo "wrote $out"
done
