"""Round 20's one scratch-name rule (``writers.scratch_path``, what a rerun's sweep knows),
taken up by the writers that still made their own names:

1. ``ray_runner._replace_with``, a frame landing from a --ray task's staging folder into the
   output: a link a killed landing left is removed by the rerun.
2. Export Keyframes (``operators/keyframes._write_png``) writes through ``writers.write_atomic``
   (a '.NNNN.part.png' a killed export left stayed for good, read as nothing).

No cluster: --ray's tasks run in this process (the ``in_process`` fixture). Strength 0
writes the source's frames: no network converted or run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers_cli import run
from test_ray_round19b import RAY, stylize

from restyle.core import ray_runner
from restyle.core.job import MANIFEST
from restyle.core.writers import _TEMP_NAME

from clips import noise_shot

pytestmark = pytest.mark.usefixtures("private_home")


def landed_scratch(monkeypatch, folder: Path) -> list[Path]:
    """The links ``_replace_with`` renamed over a frame in ``folder``, by name: one made
    again after its run is what a landing killed before its rename leaves."""
    made: list[Path] = []
    real = ray_runner._replace_with

    def replace_with(src: Path, dst: Path) -> None:
        before = set(os.listdir(dst.parent))
        real_replace = os.replace

        def replace(a, b):
            made.append(Path(a))
            real_replace(a, b)

        with pytest.MonkeyPatch.context() as inner:
            inner.setattr(os, "replace", replace)
            real(src, dst)
        assert set(os.listdir(dst.parent)) - before <= {dst.name}

    monkeypatch.setattr(ray_runner, "_replace_with", replace_with)
    return made


def test_a_killed_landings_link_is_removed_by_the_rerun(in_process, tmp_path, capsys, monkeypatch):
    shot = noise_shot(tmp_path / "shot", 6)
    out = tmp_path / "frames"
    with monkeypatch.context() as killed:
        left = landed_scratch(killed, out)
        code, record, err = run(stylize(shot, out, *RAY, "--end", "3"), capsys)
    assert code == 0 and record["written"] == 4, err
    assert len(left) == 4 and all(p.parent == out for p in left), left
    assert all(_TEMP_NAME.match(p.name) for p in left), left  # the frame writer's sweep's
    for path in left:  # killed between its link and its rename
        path.write_bytes(b"half")
    code, record, err = run(stylize(shot, out, *RAY), capsys)  # resumes: frames 4-5 to make
    assert code == 0 and record["written"] == 2, err
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST] + [f"{i:06d}.png" for i in range(6)]
