"""Round 22's CLI walkthrough, the job's side.

1. A frames folder made at one precision (auto: bf16) resumed with another asked explicitly
   (--precision fp32) reused the bf16 frames, made the rest fp32 and wrote 'precision: fp32'
   in the manifest for the whole folder: a later auto resume said 'fp32, as the frames
   already made'. Now refused as other settings are, unless --overwrite (all made again).
2. A local run said nothing while its network was built (~30 s on vtest), and a resume's
   first event was 'done: 55' with nothing saying 54 frames were kept.

The engine is a stand-in (no CPU with bf16 needed): auto runs bf16, whose output is
visibly off fp32's, as tests/test_resume_precision_round21.py's.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from helpers_cli import run as run_cli

from restyle.core import stylizer as stylizer_module
from restyle.core.errors import COMMAND_LINE, RestyleError
from restyle.core.job import MANIFEST, StyleJob
from restyle.core.progress import CancelToken

pytestmark = pytest.mark.usefixtures("private_home")

FRAMES = 8
SIZE = (64, 48)  # width, height


class FixedEngine:
    """Runs the precision asked (auto: bf16), decided at once (a verdict kept from before)."""

    backend, device, reason, note = "openvino", "cpu", "chosen by auto: a test's engine", ""

    def __init__(self, arch, precision: str) -> None:
        self.arch = arch
        self.precision = "bf16" if precision == "auto" else precision
        self.decided, self.checked = self.precision, True

    def run(self, images: np.ndarray, condition=None) -> np.ndarray:
        out = np.ascontiguousarray(images[:, ::-1])
        return out if self.precision == "fp32" else np.clip(out + 0.1, 0.0, 1.0)

    def close(self) -> None:
        pass


@pytest.fixture
def events(monkeypatch) -> list:
    """What happened, in order: each engine built ('engine', precision), and (by the tests'
    progress callbacks) each progress event."""
    said: list = []

    def create_engine(model, backend="auto", device="auto", precision="auto", *_a, **_k):
        said.append(("engine", precision))
        return FixedEngine(model.arch, precision)

    monkeypatch.setattr(stylizer_module, "create_engine", create_engine)
    return said


def clip(folder) -> list:
    folder.mkdir()
    rng = np.random.default_rng(3)
    paths = []
    for i in range(FRAMES):
        paths.append(folder / f"frame_{i:04d}.png")
        cv2.imwrite(str(paths[-1]), rng.integers(0, 255, (SIZE[1], SIZE[0], 3), dtype=np.uint8))
    return paths


def job(source, out, tiny_style, **fields) -> StyleJob:
    return StyleJob(source, out, "Tiny", library=tiny_style, carry=0.0, **fields)


def pixels(folder) -> list[bytes]:
    files = sorted(p for p in folder.iterdir() if p.suffix == ".png")
    return [cv2.imread(str(p), cv2.IMREAD_UNCHANGED).tobytes() for p in files]


def cancelled_after(source, out, tiny_style, count: int, **fields):
    token = CancelToken()

    def progress(p) -> None:
        if p.stage == "stylize" and p.done >= count:
            token.cancel()

    result = job(source, out, tiny_style, **fields).run(progress=progress, cancel=token)
    assert result.cancelled and 0 < result.written < FRAMES, result
    return result


# -- 1. one folder, one precision ------------------------------------------------------------
def test_a_resume_asking_another_precision_is_refused(tmp_path, tiny_style, events):
    source = clip(tmp_path / "src")
    out = tmp_path / "out"
    first = cancelled_after(source, out, tiny_style, 3)
    record = json.loads((out / MANIFEST).read_text())
    assert record["precision"] == "bf16" and record["precision_asked"] == "auto"
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    fp32 = job(source, out, tiny_style, precision="fp32")
    with pytest.raises(RestyleError) as refused:
        fp32.run()
    said = refused.value.said(COMMAND_LINE)
    assert "other settings (bf16 precision, now --precision fp32)" in said, said
    assert "--precision auto to resume at bf16" in said and "--overwrite" in said, said
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # nothing changed
    # --plan says the same
    plan = job(source, out, tiny_style, precision="fp32")
    outlook = plan.outlook(plan.check_settings())
    assert outlook["outcome"] == "refused" and "bf16 precision" in outlook["reason"], outlook
    # the same precision asked, or auto: resumed at it
    bf16 = job(source, out, tiny_style, precision="bf16").run()
    assert bf16.reused == first.written and bf16.written == FRAMES - first.written, bf16


def test_overwrite_makes_every_frame_again_at_the_precision_asked(tmp_path, tiny_style, events):
    source = clip(tmp_path / "src")
    whole = job(source, tmp_path / "whole", tiny_style, precision="fp32").run()
    assert whole.written == FRAMES
    out = tmp_path / "out"
    cancelled_after(source, out, tiny_style, 3)
    again = job(source, out, tiny_style, precision="fp32", overwrite=True)
    outlook = again.outlook(again.check_settings())
    assert outlook["outcome"] == "replace" and outlook["reused"] == 0, outlook
    result = again.run()
    assert result.reused == 0 and result.written == FRAMES, result
    assert pixels(out) == pixels(tmp_path / "whole")  # no bf16 frame kept
    record = json.loads((out / MANIFEST).read_text())
    assert record["precision"] == "fp32" and record["precision_asked"] == "fp32"
    assert not record.get("stale"), record
    resumed = job(source, out, tiny_style).run()  # auto: held to the folder's, all kept
    assert resumed.finished_before and "fp32, matching the frames already made" in resumed.engine


def test_a_killed_overwrite_keeps_the_old_frames_stale(tmp_path, tiny_style, events):
    """Cancelled part-way, the bf16 frames not yet replaced are stale: never reused."""
    source = clip(tmp_path / "src")
    out = tmp_path / "out"
    cancelled_after(source, out, tiny_style, 6)
    cancelled_after(source, out, tiny_style, 2, precision="fp32", overwrite=True)
    record = json.loads((out / MANIFEST).read_text())
    assert record["precision"] == "fp32" and record["stale"], record
    result = job(source, out, tiny_style).run()  # auto: fp32, the stale ones made again
    assert result.written + result.reused == FRAMES and result.written >= 4, result
    whole = job(source, tmp_path / "whole", tiny_style, precision="fp32").run()
    assert whole.written == FRAMES
    assert pixels(out) == pixels(tmp_path / "whole")


def test_a_ray_overwrite_at_another_precision_makes_every_frame_again(
    tmp_path, tiny_style, events, in_process
):
    from restyle.core.ray_runner import run_on_ray

    source = clip(tmp_path / "src")
    out = tmp_path / "out"
    cancelled_after(source, out, tiny_style, 3)
    with pytest.raises(RestyleError, match="bf16 precision"):
        run_on_ray(job(source, out, tiny_style, precision="fp32"), "auto", max_frames=4)
    again = job(source, out, tiny_style, precision="fp32", overwrite=True)
    result = run_on_ray(again, "auto", max_frames=4)
    assert result.written == FRAMES and result.reused == 0, result
    job(source, tmp_path / "whole", tiny_style, precision="fp32").run()
    assert pixels(out) == pixels(tmp_path / "whole")
    assert json.loads((out / MANIFEST).read_text())["precision"] == "fp32"


# -- 2. the first progress events ------------------------------------------------------------
def test_the_first_event_comes_before_the_network_is_built(tmp_path, tiny_style, events):
    source = clip(tmp_path / "src")
    job(source, tmp_path / "out", tiny_style).run(progress=events.append)
    first = events[0]
    assert not isinstance(first, tuple), events[:3]  # before ('engine', 'auto')
    assert (first.stage, first.done, first.total) == ("setup", 0, FRAMES), first
    assert first.message == "building the network"


def test_a_resume_says_the_frames_it_kept_first(tmp_path, tiny_style, events):
    source = clip(tmp_path / "src")
    out = tmp_path / "out"
    first = cancelled_after(source, out, tiny_style, 3)
    events.clear()
    job(source, out, tiny_style).run(progress=events.append)
    said = [e for e in events if not isinstance(e, tuple)]
    kept = said[1]  # after 'building the network'
    assert (kept.stage, kept.done) == ("stylize", first.written), said[:3]
    assert kept.message == f"{first.written} frames kept from before"


def test_json_says_the_network_is_being_built(tmp_path, tiny_style, events, capsys):
    source = clip(tmp_path / "src")
    out = tmp_path / "out"
    argv = ["stylize", str(tmp_path / "src"), "-s", "Tiny", "-o", str(out)]
    code, record, err = run_cli([*argv, "--end", "2"], capsys)
    assert code == 0, err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    first = lines[0]
    assert first["event"] == "progress" and first["done"] == 0, lines
    assert first["message"] == "building the network", lines
    code, record, err = run_cli(argv, capsys)  # resumed: 0-1 kept (2 had no lookahead)
    assert code == 0, err
    assert record["reused"] == 2 and len(source) == FRAMES, record
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert lines[0]["message"] == "building the network", lines
    assert lines[1] == {**lines[1], "stage": "stylize", "done": 2}, lines
    assert lines[1]["message"] == "2 frames kept from before", lines
