#!/usr/bin/env bash
# ragweave's no-op pipeline next to the same pipeline in LangChain, on this machine, in one run.
# Prints both medians (microseconds per query) and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c 'import langchain_core' 2>/dev/null || python3 -m pip install -q langchain-core
lc_us=$(python3 benches/peers/langchain_overhead.py 2000)
cargo bench -q -p ragweave-core --bench pipeline_overhead -- --noplot >/dev/null 2>&1
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
rw_us=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["median"]["point_estimate"] / 1000)' \
  "$target/criterion/pipeline_overhead/new/estimates.json")
python3 - "$rw_us" "$lc_us" <<'PY'
import sys
rw, lc = float(sys.argv[1]), float(sys.argv[2])
print(f"ragweave  median {rw:8.2f} us/query")
print(f"langchain median {lc:8.1f} us/query")
print(f"ratio: ragweave is {lc / rw:.0f}x faster (target: <= 10 us)")
PY
