#!/usr/bin/env bash
# The README's first command: set up everything, then show what Restyle does on generated
# sample footage: the `restyle` command line, then the real Blender extension, headless.
#
# One line per step; a step's own output is shown only if it fails. It ends with a list of
# what it made; nothing else is left behind (scratch files live in a temporary folder).
# More mappings join as they land: each scripts/demo.d/*.sh is sourced after the built-in
# steps and may call `step` and `result` like the steps below (see scripts/demo.d/README).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${RESTYLE_DEMO_OUT:-out/demo}
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/restyle-demo.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
# A private style library: the built-ins are read from models/builtin (converted once,
# below); your own library is neither read nor written.
export RESTYLE_HOME="$SCRATCH/library"
PY=.venv/bin/python
RESTYLE=.venv/bin/restyle
RESULT_PATHS=()
RESULT_TEXTS=()
T0=$SECONDS

# step TITLE COMMAND...: runs COMMAND quietly, printing one line (its output only on failure)
# and a dot every 30 s, so a long step (the first install, Blender) shows it is alive.
step() {
  local title=$1 start=$SECONDS code=0 dots
  shift
  printf '== %s ... ' "$title"
  (while sleep 30; do printf '.'; done) &
  dots=$!
  "$@" >"$SCRATCH/step.log" 2>&1 || code=$?
  kill "$dots" 2>/dev/null
  wait "$dots" 2>/dev/null || true
  [ $((SECONDS - start)) -lt 30 ] || printf ' '
  if [ "$code" -ne 0 ]; then
    printf 'failed\n'
    tail -n 40 "$SCRATCH/step.log" >&2
    exit "$code"
  fi
  printf 'done (%d s)\n' $((SECONDS - start))
}

# result PATH DESCRIPTION: list PATH in the closing summary.
result() {
  RESULT_PATHS+=("${1#"$PWD/"}")
  RESULT_TEXTS+=("$2")
}

step "install the pinned dependencies into .venv (about 3 GB the first time: minutes)" bash scripts/setup.sh
mkdir -p "$OUT"

step "make sample footage (camera moves over photographs, cuts at 24 and 48)" \
  $PY scripts/sample_footage.py "$OUT/sample.mp4" --size 640x360 --frames-per-shot 24 --shots 3
result "$OUT/sample.mp4" "sample footage: 72 frames at 24 fps, three shots"

# Once, into the extension's model cache: the command line reads them there too, and the
# Blender step bundles the same files.
step "convert the built-in styles and the matte network (once)" $RESTYLE setup --bundle models/builtin

step "style the clip with a built-in style (autumn-impasto), as H.264" \
  $RESTYLE stylize "$OUT/sample.mp4" -o "$OUT/autumn-impasto.mp4" -s autumn-impasto --overwrite
result "$OUT/autumn-impasto.mp4" "the whole clip in the built-in style autumn-impasto"

step "render frame 12 in all 26 built-in styles" \
  $RESTYLE sheet "$OUT/sample.mp4" -o "$OUT/styles-sheet.png" --frame 12 --overwrite
result "$OUT/styles-sheet.png" "contact sheet: frame 12 in every built-in style"

# Any picture as the style: Van Gogh's The Starry Night (1889, public domain), the copy
# that ships in Debian's opencv-doc package (OpenCV's samples/data/starry_night.jpg).
printf '== fetch a public-domain painting from Debian'"'"'s opencv-doc package ... '
PAINTING=$($PY -c 'import sys; sys.path.insert(0, "scripts")
from real_footage import real_picture; print(real_picture("starry-night"))' 2>"$SCRATCH/step.log") ||
  PAINTING=
if [ -n "$PAINTING" ]; then
  echo done
  step "style the second shot after a painting (The Starry Night), as PNG frames" \
    $RESTYLE stylize "$OUT/sample.mp4" -o "$OUT/starry-night-frames" -s "$PAINTING" \
    --start 24 --end 47 --strength 0.8 --overwrite
  result "$OUT/starry-night-frames/" "frames 24-47 styled after The Starry Night ($PAINTING)"
else
  echo "unavailable: the any-picture step is skipped"
fi

if BPY_ERROR=$($PY -c "import bpy" 2>&1 >/dev/null); then
  step "Blender: build and install the extension headless, style two shots, render the edit (minutes)" \
    $PY scripts/blender_demo.py --out "$OUT/blender" --sample "$OUT/sample.mp4" \
    ${PAINTING:+--picture "$PAINTING"} --summary "$SCRATCH/blender.txt"
  while IFS=$'\t' read -r path what; do
    result "$path" "Blender: $what"
  done <"$SCRATCH/blender.txt"
else  # said, not silently left out: the README's Blender part needs a working bpy
  echo "== Blender step skipped: import bpy failed (${BPY_ERROR##*$'\n'})"
fi

shopt -s nullglob
for extra in scripts/demo.d/*.sh; do
  # shellcheck source=/dev/null
  source "$extra"
done

width=0
for path in "${RESULT_PATHS[@]}"; do
  [ ${#path} -gt "$width" ] && width=${#path}
done
echo
echo "Made in $((SECONDS - T0)) s:"
for i in "${!RESULT_PATHS[@]}"; do
  printf '  %-*s  %s\n' "$width" "${RESULT_PATHS[$i]}" "${RESULT_TEXTS[$i]}"
done
