"""The precision a frames folder was made with is part of what a resume reproduces.

An engine that runs bf16 checks its first batch that shows something against fp32 and
runs fp32 from then on where it misses the bar (core/engines/precision.py). A resumed run
checked its own first batch, other frames than the first run's, and could decide
otherwise: on an AVX512-BF16 EPYC, Megamind's first run fell back to fp32, its resume ran
bf16, and 21 of 30 frames were 45-50 dB off an uninterrupted run's (docs/cli.md promises
them identical). Each Ray chunk likewise checked its own first batch.

The engine here is a stand-in with the real engines' rule (``checked``, ``precision``,
the note), so the tests need no CPU with bf16: its check fails on a reddish batch and
passes on a greenish one, and its bf16 output is visibly off its fp32 output.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from restyle.core import stylizer as stylizer_module
from restyle.core.errors import RestyleError
from restyle.core.job import MANIFEST, StyleJob
from restyle.core.progress import CancelToken

pytestmark = pytest.mark.usefixtures("private_home")

FRAMES = 12
SIZE = (64, 48)  # width, height


class CheckedEngine:
    """bf16 under auto, checked once against fp32 on its first batch, as OpenVinoEngine:
    below the bar (here: a reddish batch) it runs fp32 from then on."""

    backend, device, reason = "openvino", "cpu", "chosen by auto: a test's engine"

    def __init__(self, arch, precision: str) -> None:
        self.arch = arch
        self.precision = "bf16" if precision == "auto" else precision
        # settled in one value, as the engines' (precision.Settles): None until checked
        self.decided = "fp32" if self.precision == "fp32" else None
        self.note = ""
        self.checks = 0

    @property
    def checked(self) -> bool:
        return self.decided is not None

    @checked.setter
    def checked(self, value: bool) -> None:  # held (stylizer.hold_precision)
        self.decided = self.precision if value else None

    def _net(self, images: np.ndarray, precision: str) -> np.ndarray:
        out = np.ascontiguousarray(images[:, ::-1])  # channels swapped: any network will do
        return out if precision == "fp32" else np.clip(out + 0.1, 0.0, 1.0)

    def run(self, images: np.ndarray, condition=None) -> np.ndarray:
        out = self._net(images, self.precision)
        if not self.checked:
            self.checks += 1
            if images[:, 0].mean() > images[:, 1].mean():  # reddish: "below the bar"
                self.note = "bf16 gave 8.1 dB against fp32 (below 35 dB): running fp32"
                self.precision = self.decided = "fp32"
                return self._net(images, "fp32")
            self.note = "bf16 checked: 44.7 dB against fp32"
            self.decided = self.precision
        return out

    def close(self) -> None:
        pass


@pytest.fixture
def engines(monkeypatch) -> list[CheckedEngine]:
    made: list[CheckedEngine] = []

    def create_engine(model, backend="auto", device="auto", precision="auto", **_words):
        made.append(CheckedEngine(model.arch, precision))
        return made[-1]

    monkeypatch.setattr(stylizer_module, "create_engine", create_engine)
    return made


def clip(folder, red: range) -> list:
    """FRAMES textured frames, reddish at ``red``, greenish elsewhere (never flat)."""
    folder.mkdir()
    rng = np.random.default_rng(7)
    paths = []
    for i in range(FRAMES):
        bgr = rng.integers(0, 120, (SIZE[1], SIZE[0], 3), dtype=np.uint8)
        bgr[..., 2 if i in red else 1] += 120  # OpenCV's order: red is channel 2
        paths.append(folder / f"frame_{i:04d}.png")
        cv2.imwrite(str(paths[-1]), bgr)
    return paths


def job(source, out, tiny_style) -> StyleJob:
    return StyleJob(source, out, "Tiny", library=tiny_style, carry=0.0)


def frames(folder) -> list[bytes]:
    files = sorted(p for p in folder.iterdir() if p.suffix == ".png")
    assert len(files) == FRAMES, files
    return [cv2.imread(str(p), cv2.IMREAD_UNCHANGED).tobytes() for p in files]


def cancelled_after(source, out, tiny_style, count: int, seen: list | None = None):
    token = CancelToken()

    def progress(p) -> None:
        if p.stage == "stylize" and p.done >= count:
            if seen is not None and (out / MANIFEST).is_file():
                seen.append(json.loads((out / MANIFEST).read_text()).get("precision"))
            token.cancel()

    result = job(source, out, tiny_style).run(progress=progress, cancel=token)
    assert result.cancelled and 0 < result.written < FRAMES, result
    return result


def test_a_resume_runs_fp32_where_the_first_run_fell_back_to_it(tmp_path, tiny_style, engines):
    """The first run's check (a reddish first frame) drops bf16; the resume starts on
    greenish frames, whose check bf16 passed: it ran bf16 and its frames differed."""
    source = clip(tmp_path / "src", red=range(0, 2))
    whole = job(source, tmp_path / "whole", tiny_style).run()
    assert "running fp32" in whole.engine and whole.engine.startswith("openvino fp32")
    seen: list = []
    first = cancelled_after(source, tmp_path / "resumed", tiny_style, 6, seen)
    assert "running fp32" in first.engine
    # recorded while it ran (a killed run's frames resume at it), and at the cancel
    assert seen == ["fp32"]
    record = json.loads((tmp_path / "resumed" / MANIFEST).read_text())
    assert record["precision"] == "fp32" and record["precision_asked"] == "auto"
    resumed = job(source, tmp_path / "resumed", tiny_style).run()
    assert resumed.reused == first.written and not resumed.cancelled
    assert resumed.engine.startswith("openvino fp32 on cpu"), resumed.engine
    assert "fp32, matching the frames already made" in resumed.engine, resumed.engine
    assert engines[-1].checks == 0  # fp32 needs no check
    assert frames(tmp_path / "resumed") == frames(tmp_path / "whole")
    # the folder's record reads as the uninterrupted run's: the check that decided it
    kept = [json.loads((tmp_path / f / MANIFEST).read_text()) for f in ("resumed", "whole")]
    assert kept[0]["engine"] == kept[1]["engine"] == whole.engine


def test_a_resume_runs_bf16_where_the_first_run_kept_it(tmp_path, tiny_style, engines):
    """The first run's check passed (greenish first frames); the resume starts on reddish
    ones, whose check would drop bf16: held to bf16, unchecked, it matches one run."""
    source = clip(tmp_path / "src", red=range(1, FRAMES))
    whole = job(source, tmp_path / "whole", tiny_style).run()
    assert "bf16 checked" in whole.engine and whole.engine.startswith("openvino bf16")
    first = cancelled_after(source, tmp_path / "resumed", tiny_style, 4)
    assert json.loads((tmp_path / "resumed" / MANIFEST).read_text())["precision"] == "bf16"
    resumed = job(source, tmp_path / "resumed", tiny_style).run()
    assert resumed.reused == first.written
    assert resumed.engine.startswith("openvino bf16 on cpu"), resumed.engine
    assert "bf16, matching the frames already made" in resumed.engine, resumed.engine
    assert engines[-1].checks == 0 and engines[-1].precision == "bf16"
    assert frames(tmp_path / "resumed") == frames(tmp_path / "whole")


def test_another_precision_asked_runs_as_asked(tmp_path, tiny_style, engines):
    """fp32 asked over bf16 frames is the user's word, as another backend is: not held;
    a folder holds one precision, so it is refused as other settings, and --overwrite
    makes every frame again at it (tests/test_jobfix_round22.py)."""
    source = clip(tmp_path / "src", red=range(6, FRAMES))
    cancelled_after(source, tmp_path / "out", tiny_style, 4)
    again = job(source, tmp_path / "out", tiny_style)
    again.precision = "fp32"
    with pytest.raises(RestyleError, match="bf16 precision"):
        again.run()
    again.overwrite = True
    result = again.run()
    assert result.engine.startswith("openvino fp32") and "as the frames" not in result.engine
    assert result.reused == 0 and result.written == FRAMES, result


def test_ray_chunks_all_run_the_precision_decided_once(tmp_path, tiny_style, engines, in_process):
    """Chunks of 4 frames: the first chunk's frames are greenish (bf16 passes), the others'
    reddish (each chunk's own check dropped bf16: two precisions in one folder)."""
    from restyle.core.ray_runner import run_on_ray

    source = clip(tmp_path / "src", red=range(4, FRAMES))
    whole = job(source, tmp_path / "whole", tiny_style).run()
    assert whole.engine.startswith("openvino bf16"), whole.engine
    result = run_on_ray(job(source, tmp_path / "ray", tiny_style), "auto", max_frames=4)
    assert not result.cancelled and result.written == FRAMES
    assert "fp32" not in result.engine, result.engine
    assert "bf16, as the run decided for every chunk" in result.engine, result.engine
    record = json.loads((tmp_path / "ray" / MANIFEST).read_text())
    assert record["precision"] == "bf16"
    assert frames(tmp_path / "ray") == frames(tmp_path / "whole")
