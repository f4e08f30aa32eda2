"""Reference outputs of MediaPipe's own selfie segmentation, for tests/test_matte_port.py.

mediapipe pins numpy < 2 and protobuf < 5, so it never enters Restyle's environment; run this
once in a throwaway one:

    python3 -m venv /tmp/mpref && /tmp/mpref/bin/pip install mediapipe==0.10.21 "numpy<2"
    /tmp/mpref/bin/python scripts/matte_reference.py PICTURE.png ... -o tests/data/selfie_reference.json

Each picture is resized (OpenCV, INTER_AREA) to the network's input size, so MediaPipe's
resampling is the identity and the output is the network's alone; the JSON keeps each mask
averaged down to 16×16 (enough to catch any layout or padding mistake in a port).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

SIZES = {0: (256, 256), 1: (256, 144)}  # model_selection → (width, height)
GRID = 16


def main() -> None:
    import mediapipe as mp

    parser = argparse.ArgumentParser()
    parser.add_argument("pictures", nargs="+", type=Path)
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    record: dict = {"mediapipe": mp.__version__, "grid": GRID, "masks": {}}
    for selection, size in SIZES.items():
        variant = "general" if selection == 0 else "landscape"
        with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=selection) as seg:
            for picture in args.pictures:
                rgb = cv2.cvtColor(cv2.imread(str(picture)), cv2.COLOR_BGR2RGB)
                rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
                mask = seg.process(np.ascontiguousarray(rgb)).segmentation_mask
                small = cv2.resize(
                    mask.astype(np.float32), (GRID, GRID), interpolation=cv2.INTER_AREA
                )
                key = f"{picture.stem}/{variant}"
                record["masks"][key] = [round(float(v), 5) for v in small.ravel()]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(record), encoding="utf-8")


if __name__ == "__main__":
    main()
