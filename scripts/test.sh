#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite, lint first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
export RESTYLE_HOME="${RESTYLE_HOME:-$(mktemp -d)}"
.venv/bin/python -m pytest -q "$@"
