#!/usr/bin/env bash
# Create .venv with every pinned dependency and Restyle installed (editable). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements/dev.txt
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .
