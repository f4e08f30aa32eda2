"""Every run keeps a written frame by one rule (``job.frame_kept``): --plan
(``StyleJob.outlook``), a local run (``_Run.done``) and --ray (``Landing.written``). A frame
file left empty (a disk that filled) is made again by each: --ray reused it (written 0,
reused 6) and left it empty, where --plan said resume and a local rerun wrote it. And a Ray
run on a file system without hard links reads only the frames whose mark could change
(``_record_marks``: it compared every frame's bytes). Real footage, test_range_extend's
vtest walk at 160 px; Ray's tasks run in this process (test_ray_range_extend's
``in_process``)."""

from __future__ import annotations

import os

import pytest
from test_range_extend import job_for, pngs, style, walk  # noqa: F401 (a fixture)
from test_ray_range_extend import library, marks, on_ray  # noqa: F401

from restyle.core import ray_runner


@pytest.mark.parametrize("rerun", ["local", "ray"])
def test_an_empty_frame_is_made_again(walk, library, in_process, tmp_path, rerun):  # noqa: F811
    """0-5 on one machine, frame 3 then left empty: --plan says 5 kept and 1 to make, and
    a rerun of 0-5, local or --ray, writes that one frame (as it was) and reuses 5."""
    out = tmp_path / "out"
    assert style(walk, out, library, 5).written == 6
    made = pngs(out)
    third = sorted(made)[3]
    (out / third).write_bytes(b"")
    job = job_for(walk, out, library, 0, 5)
    seen = job.outlook(job.validate())
    assert (seen["outcome"], seen["reused"], seen["to_make"]) == ("resume", 5, 1)
    again = job.run() if rerun == "local" else on_ray(walk, out, library, 0, 5)
    assert (again.written, again.reused) == (1, 5)
    assert pngs(out) == made
    assert marks(out) == [sorted(made)[5]]  # the range's end, still without its lookahead
    same = job_for(walk, out, library, 0, 5)
    assert same.outlook(same.validate())["outcome"] == "finished"


class _NoLinks:
    """``os`` for ray_runner on a file system without hard links (frames land as copies)."""

    def link(self, *args, **kwargs):
        raise OSError(1, "hard links not supported here")

    def __getattr__(self, name):
        return getattr(os, name)


def test_copied_frames_are_read_only_where_a_mark_could_change(
    walk,  # noqa: F811
    library,  # noqa: F811
    in_process,  # noqa: F811
    tmp_path,
    monkeypatch,
):
    """--ray 0-5 where links fail: every frame lands as a copy, the range's end is marked,
    and recording the marks compares only that frame with its staged one (it compared all
    6, each read whole)."""
    out = tmp_path / "out"
    looked: list[str] = []
    landed = ray_runner._landed

    def counted(src, dst):
        looked.append(dst.name)
        return landed(src, dst)

    monkeypatch.setattr(ray_runner, "os", _NoLinks())
    monkeypatch.setattr(ray_runner, "_landed", counted)
    short = on_ray(walk, out, library, 0, 5)
    assert (short.written, short.reused) == (6, 0)
    frames = sorted(pngs(out))
    assert all((out / f).stat().st_nlink == 1 for f in frames)  # copies, not links
    assert marks(out) == [frames[5]]
    assert looked == [frames[5]]
