#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite: lint, the core and Blender 5.0 tests,
# then the Blender tests again on 4.2 LTS (bpy from PyPI, installed from the built zip).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
export RESTYLE_HOME="${RESTYLE_HOME:-$(mktemp -d)}"
.venv/bin/python -m pytest -q "$@"
BPY_VERSION=4.2.23 bash .ci/blender-lts
