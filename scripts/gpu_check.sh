#!/usr/bin/env bash
# The prepared GPU check (issue 11), for a lent GPU machine with no network: installs the
# wheels carried in .gpucheck/whl (scripts/gpu_prepare.sh put them there) into a private
# folder, makes this checkout importable as `restyle`, and runs benchmarks/bench_gpu.py,
# which writes gpu_check.json, gpu_check.md and gpu_check.log into OUT. A part that fails is
# reported there; this script itself fails only if nothing could be measured at all.
#
#   scripts/gpu_check.sh [OUT] [bench_gpu.py options...]
#   OUT defaults to $OUT (the device tool's result folder), else out/gpu-check.
#   Dry run on this machine's CPU:
#   PYTHON=.venv/bin/python scripts/gpu_check.sh out/dry --device cpu --size 320x180 \
#       --frames 12 --batches 1,2 --train-size 160x96 --train-frames 12 --train-budget 5 --budget 240
set -uo pipefail
cd "$(dirname "$0")/.."
OUT_DIR=${1:-${OUT:-out/gpu-check}}
[ $# -gt 0 ] && shift
PY=${PYTHON:-python3}
mkdir -p "$OUT_DIR"
SITE=$(mktemp -d /tmp/restyle-site.XXXXXX)
trap 'rm -rf "$SITE"' EXIT

if ls .gpucheck/whl/*.whl >/dev/null 2>&1; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target "$SITE" .gpucheck/whl/*.whl ||
        echo "gpu_check: installing the carried wheels failed; going on with what is installed"
fi
ln -s "$PWD" "$SITE/restyle"
export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
BUILTIN=()
[ -d .gpucheck/builtin ] && BUILTIN=(--builtin .gpucheck/builtin)

"$PY" benchmarks/bench_gpu.py --out "$OUT_DIR" --media .gpucheck/media ${BUILTIN[@]+"${BUILTIN[@]}"} "$@"
