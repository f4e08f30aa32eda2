#!/usr/bin/env bash
# Create .venv with every pinned dependency and Restyle installed (editable). Idempotent.
# .venv must be Python 3.11: requirements/dev.txt pins bpy==5.0.1, which PyPI has for
# CPython 3.11 only (with another Python, pip says "No matching distribution found for
# bpy==5.0.1"). A .venv of another Python is never reused: with PYTHON given
# (PYTHON=python3.11 bash scripts/demo.sh) it is recreated with that Python, saying so;
# without PYTHON, setup stops, says what to do and leaves .venv as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
WANT=3.11
PY=${PYTHON:-python3}
version_of() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null; }

# usable_python: $PY is Python $WANT, else say so and stop (nothing created or changed).
usable_python() {
  local have
  if ! have=$(version_of "$PY"); then
    echo "setup: cannot run '$PY'. Install Python $WANT (with its venv module) and run:" \
      "PYTHON=python$WANT bash scripts/demo.sh" >&2
    exit 1
  fi
  if [ "$have" != "$WANT" ]; then
    echo "setup: '$PY' is Python $have, but Restyle needs Python $WANT (bpy==5.0.1 is built" \
      "for $WANT only). Run: PYTHON=python$WANT bash scripts/demo.sh" >&2
    exit 1
  fi
}

if [ -x .venv/bin/python ]; then
  venv=$(version_of .venv/bin/python || echo "unknown")
  if [ "$venv" != "$WANT" ]; then
    if [ -z "${PYTHON:-}" ]; then
      echo "setup: .venv is Python $venv, but Restyle needs Python $WANT (bpy==5.0.1 is built" \
        "for $WANT only); .venv was left as it is. Run: PYTHON=python$WANT bash" \
        "scripts/demo.sh (recreates .venv with that Python; everything in the" \
        "old .venv is removed), or move .venv aside first to keep it." >&2
      exit 1
    fi
    usable_python
    echo "setup: .venv is Python $venv, Restyle needs $WANT: recreating .venv with $PY" \
      "(everything in the old .venv is removed)" >&2
    "$PY" -m venv --clear .venv
  fi
else
  usable_python
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements/dev.txt
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .
