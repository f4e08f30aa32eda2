#!/usr/bin/env bash
# The README's first command: set up everything, then run the main job on generated sample
# footage — the `restyle` command line, then the real Blender extension, headless.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
OUT=${RESTYLE_DEMO_OUT:-out/demo}
mkdir -p "$OUT"
export RESTYLE_HOME="${RESTYLE_HOME:-$PWD/out/library}"
PY=.venv/bin/python

echo "== sample footage (camera moves over real photographs, two cuts)"
$PY scripts/sample_footage.py "$OUT/sample.mp4" --size 640x360 --frames-per-shot 24 --shots 3

echo "== convert the built-in styles once"
.venv/bin/restyle setup

echo "== a built-in style, as an H.264 movie"
.venv/bin/restyle stylize "$OUT/sample.mp4" -o "$OUT/starry-swirls.mp4" -s starry-swirls --overwrite

echo "== a contact sheet of every built-in style"
.venv/bin/restyle sheet "$OUT/sample.mp4" -o "$OUT/styles-sheet.png" --frame 30 --overwrite

echo "== any picture as the style (here: a thumbnail picture), as a PNG sequence"
cp "$RESTYLE_HOME/builtin/thumbs/carnival-ribbons.png" "$OUT/style-picture.png"
.venv/bin/restyle stylize "$OUT/sample.mp4" -o "$OUT/picture-style" -s "$OUT/style-picture.png" \
  --start 24 --end 47 --strength 0.8 --overwrite

if [ -f scripts/blender_demo.py ]; then
  echo "== the Blender extension: build, install headless, style strips in the VSE, render"
  $PY scripts/blender_demo.py --out "$OUT/blender" --sample "$OUT/sample.mp4"
fi

echo
echo "Outputs in $OUT:"
ls -1 "$OUT"
