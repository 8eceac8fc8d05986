#!/usr/bin/env bash
# Reproduces docs/results.md: builds the stores (all-MiniLM-L6-v2 + BM25 in Qdrant Edge),
# fits the routers' pilots on SciFact's training claims, and evaluates every config.
#
# Usage: bash experiments/run.sh
#          [setup|pilots|scifact|scifact-train|arguana|msmarco|union|normalisations|
#           score-union|adaptive|all]
#   setup         model, stores (about 15 min for SciFact, 20 for ArguAna, 4 for the TREC DL
#                 subset, 42 for the union on 2 cores) and pilots; skips what exists
#   scifact ...   one dataset's table into docs/results/<dataset>/ (needs setup)
# Datasets come from $RAGWEAVE_DATASETS (default ../shared/datasets).
set -euo pipefail
cd "$(dirname "$0")/.."
data="${RAGWEAVE_DATASETS:-../shared/datasets}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ragweave/target}"
rw() { cargo run -q -p ragweave-cli -- "$@"; }
stores=.ragweave/eval
router_configs="router-c1-top1 router-c1-top2 router-c8-mean-top1 router-c8-max-top1 router-c8-max-top2"
fusion_configs="rrf-dense2 rrf-bm25x2 score-dense0.3 score-dense0.5 score-dense0.7"
mix_configs="mix-t0.01 mix-t0.03 mix-t0.1"
norm_configs="score-dense0.3 score-dense0.5 score-dense0.7 zscore-dense0.3 zscore-dense0.5
  zscore-dense0.7 dbsf-dense0.3 dbsf-dense0.5 dbsf-dense0.7"
# Each normalisation at the weight the training claims chose for it.
norm_chosen="score-dense0.5 zscore-dense0.5 dbsf-dense0.5"
# The same, each expert scoring every candidate either found ([fusion] score_union).
union_configs="union-score-dense0.3 union-score-dense0.5 union-score-dense0.7
  union-zscore-dense0.3 union-zscore-dense0.5 union-zscore-dense0.7
  union-dbsf-dense0.3 union-dbsf-dense0.5 union-dbsf-dense0.7"
union_chosen="score-dense0.5 union-score-dense0.5 union-zscore-dense0.5 union-dbsf-dense0.5"

ingest() { # dataset-dir config
  local store
  store="$stores/$(basename "$(dirname "$2")")"
  [ "$(basename "$(dirname "$2")")" = union ] && store="$stores/union"
  if [ ! -f "$store/ragweave-store.json" ]; then
    rw ingest "$1/corpus.jsonl" --config "$2" --quiet
  fi
}

setup() {
  model_dir="${RAGWEAVE_MINILM:-$HOME/.cache/ragweave/models/all-MiniLM-L6-v2}"
  scripts/fetch-minilm.sh "$model_dir"
  mkdir -p .ragweave/models "$stores/pilots"
  ln -sfn "$model_dir" .ragweave/models/all-MiniLM-L6-v2
  for ds in scifact arguana msmarco-trecdl19-subset5k; do
    ingest "$data/$ds" "experiments/$ds/dense.toml"
    # BM25 over whole documents with the corpus's own average length: seconds, no model.
    if [ ! -f "$stores/$ds-bm25/ragweave-store.json" ]; then
      rw ingest "$data/$ds/corpus.jsonl" --store "$stores/$ds-bm25" --max-tokens 8192 \
        --overlap 0 --bm25-avg-len auto --quiet
    fi
  done
  python3 experiments/union/make_union.py "$data" "$stores/datasets/union"
  ingest "$stores/datasets/union" experiments/union/union-dense.toml
  fit
}

fit() {
  # Pilots: SciFact's training claims with evidence (505; the 300 test claims are excluded).
  local train=(--dataset "$data/scifact" --evidence --split test)
  rw fit-pilots --config experiments/scifact/router-c1-top1.toml "${train[@]}"
  rw fit-pilots --config experiments/scifact/router-c8-mean-top1.toml "${train[@]}" --centroids 8
  rw fit-pilots --config experiments/scifact/mix-t0.1.toml "${train[@]}" --centroids 8
  local ex="$stores/datasets/union/examples"
  rw fit-pilots --config experiments/union/routed-hybrid.toml \
    --examples "scifact=$ex/scifact.txt" --examples "arguana=$ex/arguana.txt" \
    --examples "msmarco-trecdl19-subset5k=$ex/msmarco-trecdl19-subset5k.txt"
}

configs() { # dataset names...
  local ds=$1 out=""
  shift
  for c in "$@"; do out="$out --config experiments/$ds/$c.toml"; done
  echo "$out"
}

table() { # dataset extra-args...
  local ds=$1
  shift
  # shellcheck disable=SC2046
  rw eval --dataset "$data/$ds" $(configs "$ds" bm25 bm25-chunks dense rrf hybrid \
    $fusion_configs $router_configs $mix_configs) --oracle bm25,dense --quiet "$@"
}

normalisations() { # dataset configs extra-args...
  local ds=$1 list=$2
  shift 2
  # shellcheck disable=SC2046,SC2086
  rw eval --dataset "$data/$ds" $(configs "$ds" bm25 dense rrf $list) --oracle bm25,dense \
    --quiet "$@"
}

# Reports (JSON with per-query scores, TREC runs) stay under .ragweave; the markdown table and
# the chart go to docs/results/<name>/.
publish() { # name
  mkdir -p "docs/results/$1"
  cp "$stores/reports/$1/report.md" "$stores/reports/$1/report.svg" "docs/results/$1/"
}

case "${1:-all}" in
  setup) setup ;;
  scifact) table scifact --out "$stores/reports/scifact" && publish scifact ;;
  scifact-train)
    table scifact --evidence --split test --out "$stores/reports/scifact-train"
    publish scifact-train
    ;;
  arguana) table arguana --drop-self-hits --out "$stores/reports/arguana" && publish arguana ;;
  msmarco)
    table msmarco-trecdl19-subset5k --out "$stores/reports/msmarco-trecdl19-subset5k"
    publish msmarco-trecdl19-subset5k
    ;;
  union)
    rw eval --dataset "$stores/datasets/union" --drop-self-hits --quiet --concurrency 2 \
      --config experiments/union/union-hybrid.toml --config experiments/union/routed-hybrid.toml \
      --out "$stores/reports/union"
    publish union
    python3 experiments/union/domain_accuracy.py "$data" "$stores/reports/union/routed-hybrid.run"
    ;;
  normalisations)
    normalisations scifact "$norm_configs" --evidence --split test \
      --out "$stores/reports/norm-scifact-train"
    normalisations scifact "$norm_configs" --out "$stores/reports/norm-scifact"
    normalisations msmarco-trecdl19-subset5k "$norm_configs" \
      --out "$stores/reports/norm-msmarco-trecdl19-subset5k"
    normalisations arguana "$norm_chosen" --drop-self-hits --out "$stores/reports/norm-arguana"
    for n in scifact-train scifact msmarco-trecdl19-subset5k arguana; do publish "norm-$n"; done
    ;;
  score-union)
    normalisations scifact "score-dense0.5 $union_configs" --evidence --split test \
      --out "$stores/reports/score-union-scifact-train"
    normalisations scifact "$union_chosen" --out "$stores/reports/score-union-scifact"
    normalisations msmarco-trecdl19-subset5k "$union_chosen" \
      --out "$stores/reports/score-union-msmarco-trecdl19-subset5k"
    normalisations arguana "$union_chosen" --drop-self-hits \
      --out "$stores/reports/score-union-arguana"
    for n in scifact-train scifact msmarco-trecdl19-subset5k arguana; do publish "score-union-$n"; done
    ;;
  adaptive)
    # Per-query weights fitted on SciFact's training claims (the full signal search, and
    # biases alone as its control), appended to the chosen fixed fusion of each dataset.
    train=(--config experiments/scifact/union-score-dense0.5.toml --dataset "$data/scifact"
      --evidence --split test)
    mkdir -p "$stores/fit"
    rw fit-fusion "${train[@]}" --out experiments/adaptive/scifact-train.toml \
      > "$stores/fit/scifact-train.json"
    rw fit-fusion "${train[@]}" --min-gain 1 --out experiments/adaptive/scifact-train-bias.toml \
      > "$stores/fit/scifact-train-bias.json"
    experiments/adaptive/make.sh experiments/adaptive/scifact-train.toml adaptive
    experiments/adaptive/make.sh experiments/adaptive/scifact-train-bias.toml adaptive-bias
    for ds in scifact msmarco-trecdl19-subset5k arguana; do
      extra=()
      [ "$ds" = arguana ] && extra=(--drop-self-hits)
      rw eval --dataset "$data/$ds" --config "experiments/$ds/union-score-dense0.5.toml" \
        --config "experiments/$ds/adaptive-bias.toml" --config "experiments/$ds/adaptive.toml" \
        "${extra[@]}" --quiet --out "$stores/reports/adaptive-$ds"
      publish "adaptive-$ds"
    done
    ;;
  pilots) fit ;;
  all)
    setup
    for t in scifact-train scifact arguana msmarco union normalisations score-union adaptive; do bash "$0" "$t"; done
    ;;
  *) echo "unknown step $1" >&2; exit 2 ;;
esac
