"""Generate sample footage: camera moves (pan, zoom) over real photographs, with hard cuts.

``--shake PX`` adds a handheld camera's shake (a wandering offset plus frame-to-frame
jitter of about PX pixels, and a little roll), for the stabilisation demo.

The photographs are the public-domain/CC0 samples that scikit-image ships in its wheel
(coffee, astronaut, rocket, chelsea), so nothing is downloaded and nothing is committed.
Used by the README demo and the benchmarks.
"""

from __future__ import annotations

import argparse
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

PHOTOS = ("coffee", "astronaut", "rocket", "chelsea")


def photo(name: str) -> np.ndarray:
    from skimage import data

    return getattr(data, name)()[..., :3]


def camera_move(image: np.ndarray, size: tuple[int, int], t: float, shot: int) -> np.ndarray:
    """One frame of a smooth move over ``image`` at time ``t`` in [0,1]."""
    w, h = size
    ih, iw = image.shape[:2]
    base = max(w / iw, h / ih) * 1.25  # leave room to move
    zoom = base * (1.0 + 0.15 * t if shot % 2 == 0 else 1.15 - 0.15 * t)
    span_x, span_y = iw * zoom - w, ih * zoom - h
    ox = -span_x * (0.15 + 0.7 * t if shot % 2 == 0 else 0.85 - 0.7 * t)
    oy = -span_y * (0.5 + 0.3 * np.sin(np.pi * t + shot))
    m = np.float32([[zoom, 0, ox], [0, zoom, oy]])
    return cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)


def handheld(frame: np.ndarray, dx: float, dy: float, roll_deg: float) -> np.ndarray:
    """``frame`` seen through a camera shifted by (dx, dy) px and rolled by ``roll_deg``."""
    h, w = frame.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), roll_deg, 1.0)
    m[:, 2] += (dx, dy)
    return cv2.warpAffine(frame, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)


def shake_path(n: int, amount: float, seed: int = 0) -> np.ndarray:
    """Per-frame (dx, dy, roll): a slow wander plus jitter, both about ``amount`` px."""
    rng = np.random.default_rng(seed)
    wander = np.cumsum(rng.normal(0, amount / 3, (n, 3)), axis=0)
    wander -= np.linspace(wander[0], wander[-1], n)  # no overall drift
    path = wander + rng.normal(0, amount / 2, (n, 3))
    path[:, 2] *= 0.15  # degrees of roll, not pixels
    return path


def make_sample_clip(
    path: Path,
    size: tuple[int, int] = (640, 360),
    frames_per_shot: int = 24,
    shots: int = 3,
    fps: int = 24,
    shake: float = 0.0,
) -> list[int]:
    """Write an H.264 clip; returns the frame indices where a new shot starts."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cuts = []
    shaking = shake_path(frames_per_shot * shots, shake) if shake > 0 else None
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "16", "preset": "fast"}
        for shot in range(shots):
            image = photo(PHOTOS[shot % len(PHOTOS)])
            if shot:
                cuts.append(shot * frames_per_shot)
            for i in range(frames_per_shot):
                frame = camera_move(image, size, i / max(1, frames_per_shot - 1), shot)
                if shaking is not None:
                    frame = handheld(frame, *shaking[shot * frames_per_shot + i])
                for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return cuts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output")
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--frames-per-shot", type=int, default=24)
    parser.add_argument("--shots", type=int, default=3)
    parser.add_argument("--shake", type=float, default=0.0, metavar="PX", help="handheld shake")
    args = parser.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    cuts = make_sample_clip(
        Path(args.output), (w, h), args.frames_per_shot, args.shots, shake=args.shake
    )
    print(f"{args.output}: {args.shots * args.frames_per_shot} frames, cuts at {cuts}")


if __name__ == "__main__":
    main()
