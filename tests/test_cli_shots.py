"""``restyle shots``: ``--hold-lead-in`` numbers the cuts as Blender's strips (and
``stylize --plan --hold-lead-in``) show them, and ``--json`` reports its progress as the
other long commands do (a 16 s scan of vtest.avi was silent until its list)."""

from __future__ import annotations

import json

import pytest
from test_shots import SIZE, textured_picture, zoom_frames

from restyle.core.cli import main

from clips import encode_clip, pan_frames

CUT = 14  # the first picture of the second shot


@pytest.fixture(scope="module")
def lead_in_cut(tmp_path_factory):
    """mpeg4 with a B-frame in AVI (its stream starts a frame before its first picture), one
    cut: a pan, then a zoom on a picture (test_shots' planted cut), 14 pictures each."""
    frames = pan_frames(CUT, SIZE, 3.0, seed=0) + zoom_frames(textured_picture(200, 360, 2), CUT)
    folder = tmp_path_factory.mktemp("shots")
    return encode_clip(folder / "cut.avi", frames, codec="mpeg4", gop=12, bframes=1)


def shots(capsys, movie, *flags: str) -> tuple[dict, list[dict]]:
    assert main(["shots", str(movie), "--json", *flags]) == 0
    out, err = capsys.readouterr()
    events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    return json.loads(out), events


def test_shots_holds_the_lead_in_when_asked(capsys, lead_in_cut):
    held, _ = shots(capsys, lead_in_cut, "--hold-lead-in")
    plain, _ = shots(capsys, lead_in_cut)
    assert plain["cuts"] == [CUT]
    assert held["cuts"] == [CUT + 1]  # Blender's strip shows picture 14 at frame 15


def test_shots_json_reports_progress(capsys, lead_in_cut):
    _, events = shots(capsys, lead_in_cut)
    assert events and {e["event"] for e in events} == {"progress"}
    assert {e["stage"] for e in events} == {"shots"}
    assert (events[0]["done"], events[-1]["done"]) == (0, 2 * CUT)
    assert {e["total"] for e in events} == {2 * CUT}


def test_shots_help_says_it_as_stylize_does(capsys):
    main(["shots", "--help"])
    shots_help = " ".join(capsys.readouterr().out.split())
    main(["stylize", "--help"])
    stylize = " ".join(capsys.readouterr().out.split())
    words = stylize.split("--hold-lead-in ", 1)[1].split(" as players show it)")[0]
    assert words in shots_help
