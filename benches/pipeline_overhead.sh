#!/usr/bin/env bash
# ragweave's no-op pipeline next to the same pipeline in LangChain and LlamaIndex, on this
# machine, in one run. Prints each median (microseconds per query) and the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c 'import langchain_core' 2>/dev/null || python3 -m pip install -q langchain-core
python3 -c 'import llama_index.core' 2>/dev/null || python3 -m pip install -q llama-index-core
lc_us=$(python3 benches/peers/langchain_overhead.py 2000)
li_us=$(python3 benches/peers/llamaindex_overhead.py 2000)
cargo bench -q -p ragweave-core --bench pipeline_overhead -- --noplot >/dev/null 2>&1
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
rw_us=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["median"]["point_estimate"] / 1000)' \
  "$target/criterion/pipeline_overhead/new/estimates.json")
python3 - "$rw_us" "$lc_us" "$li_us" <<'PY'
import sys
rw, lc, li = (float(x) for x in sys.argv[1:])
print(f"ragweave   median {rw:8.2f} us/query (target <= 10)")
print(f"langchain  median {lc:8.1f} us/query  ratio {lc / rw:5.0f}x")
print(f"llamaindex median {li:8.1f} us/query  ratio {li / rw:5.0f}x")
PY
