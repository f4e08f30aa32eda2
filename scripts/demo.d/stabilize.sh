# Stabilisation (issue 15): a handheld take of the coffee shot (generated, about 6 px of
# shake and a little roll), steadied by `restyle stabilize`; the camera's frame-to-frame
# jitter is measured on both, as the stabiliser's own tests measure it.
step "make a shaky handheld take (generated)" \
  $PY scripts/sample_footage.py "$OUT/shaky.mp4" --size 640x360 --frames-per-shot 48 \
  --shots 1 --shake 6
result "$OUT/shaky.mp4" "a handheld take: 48 frames with camera shake"
step "stabilise the shaky take" \
  $RESTYLE stabilize "$OUT/shaky.mp4" -o "$OUT/stabilized.mp4" --overwrite
JITTER=$($PY - "$OUT/shaky.mp4" "$OUT/stabilized.mp4" <<'PY' 2>/dev/null || true
import sys

from restyle.core.mappings.stabilize import jitter, track_camera
from restyle.core.media import decode_range, probe


def shake(path):
    frames = list(decode_range(path, 0, probe(path).frame_count - 1))
    return jitter(track_camera(frames, "similarity"))["shift_px"]


before, after = (shake(p) for p in sys.argv[1:])
print(f"camera jitter {before:.1f} px -> {after:.2f} px")
PY
)
result "$OUT/stabilized.mp4" "the take, stabilised${JITTER:+ ($JITTER)}"
