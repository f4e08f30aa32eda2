# Background replacement (issue 14): the sample's second shot (frames 24-47) pans over a
# photograph of a person (scikit-image's astronaut); from frame 40 on her head is in view,
# which the selfie network needs.
step "matte the person in the second shot (RGBA PNG frames)" \
  $RESTYLE matte "$OUT/sample.mp4" -o "$OUT/matte" --start 40 --end 47 --overwrite
result "$OUT/matte" "the person's matte, frames 40-47 of the second shot (RGBA PNG, alpha = the person)"
step "replace the second shot's background with a blurred copy" \
  $RESTYLE matte "$OUT/sample.mp4" -o "$OUT/matte-blur.mp4" --start 40 --end 47 \
  --replace blur --overwrite
result "$OUT/matte-blur.mp4" "frames 40-47 of the second shot, the person sharp over a blurred background"
