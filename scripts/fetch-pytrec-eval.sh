#!/usr/bin/env bash
# Installs pytrec_eval (PyPI `pytrec_eval-terrier`, trec_eval's C code) into a directory
# outside the repo, for the test that checks ragweave-eval's metrics against it.
# Usage: scripts/fetch-pytrec-eval.sh   (prints the directory to put on PYTHONPATH)
set -euo pipefail
dir="${RAGWEAVE_PYLIB:-$HOME/.cache/ragweave/pylib}"
if ! PYTHONPATH="$dir" python3 -c "import pytrec_eval" 2>/dev/null; then
  install=(python3 -m pip install --quiet --disable-pip-version-check --target "$dir"
    "pytrec_eval-terrier==0.5.11")
  # A Debian-managed Python may refuse even a --target install without the override.
  "${install[@]}" >&2 || "${install[@]}" --break-system-packages >&2
fi
echo "$dir"
