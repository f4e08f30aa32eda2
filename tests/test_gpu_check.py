"""The prepared GPU check (benchmarks/bench_gpu.py) in its CPU dry-run mode, on tiny frames:
it must work before device time is spent on it, and a part that fails must be reported in
the summary while the parts after it still run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import pytest

from clips import make_pan_clip, pan_frames

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_gpu  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory, library):
    """One dry run: 'bare' first, before 'media' has made the clip it needs, so it fails."""
    media = tmp_path_factory.mktemp("gpu-media")
    make_pan_clip(media / "source.mp4", 8, (96, 64), dx_per_frame=2.0)
    picture = media / "picture.png"
    cv2.imwrite(str(picture), pan_frames(1, (64, 64), 0.0)[0])
    out = tmp_path_factory.mktemp("gpu-out")
    code = bench_gpu.main(
        [
            "--out", str(out), "--device", "cpu", "--media", str(media),
            "--builtin", str(library.builtin_dir), "--clip-source", "source.mp4",
            "--picture", str(picture), "--size", "64x48", "--frames", "4", "--batches", "1",
            "--train-size", "64x48", "--train-frames", "4",
            "--parts", "bare,env,media,precision", "--budget", "400",
        ]
    )  # fmt: skip
    assert code == 0
    report = json.loads((out / "gpu_check.json").read_text())
    return report, (out / "gpu_check.md").read_text()


def test_every_part_has_a_record_in_order(dry_run):
    report, _ = dry_run
    assert list(report["parts"]) == ["bare", "env", "media", "precision"]
    for part in report["parts"].values():
        assert part["status"] in ("ok", "partial", "failed", "timeout", "skipped")
        assert part["seconds"] <= part["limit_s"] + 5
    assert report["meta"]["device"] == "cpu"


def test_a_failing_part_is_reported_and_the_rest_still_run(dry_run):
    report, summary = dry_run
    bare = report["parts"]["bare"]
    assert bare["status"] == "failed"
    assert "the media part did not make it" in bare["error"]
    assert report["parts"]["media"]["status"] in ("ok", "partial")
    failures = summary.split("## Failures and gaps")[1]
    assert "- bare: failed; exit code 1: RuntimeError: no clip" in failures


def test_the_dry_run_measures_what_the_device_run_measures(dry_run):
    report, summary = dry_run
    media = report["parts"]["media"]["data"]
    assert media["clip"]["size"] == [64, 48] and media["clip"]["frames"] == 4
    assert media["decode"]["fps"] > 0 and media["encode_h264"]["fps"] > 0
    selection = report["parts"]["env"]["data"]["restyle_selection"]
    assert selection["torch_auto_device"] == "cpu" and "why_no_cuda" in selection
    precision = report["parts"]["precision"]["data"]
    for style in ("starry-swirls", "carnival-ribbons", "comic-ink", "picture"):
        paths = precision[style]
        assert paths["torch cpu fp32"]["worst_db"] == "inf"  # the reference against itself
        assert paths["torch cpu bf16"]["worst_db"] >= 35.0  # the README's bar, met on CPU
        assert paths["onnx cpu fp32"]["worst_db"] >= 60.0  # two fp32 engines agree
    assert "| precision | ok |" in summary


def test_a_part_without_enough_budget_is_skipped_not_run(tmp_path):
    code = bench_gpu.main(
        ["--out", str(tmp_path), "--device", "cpu", "--parts", "env", "--budget", "20"]
    )
    assert code == 0
    part = json.loads((tmp_path / "gpu_check.json").read_text())["parts"]["env"]
    assert part["status"] == "skipped" and part["error"] == "the total budget was spent"
