"""Small command-line fixes from the walkthrough: an output ending with '/' names a folder
(never a movie file), a malformed --device is refused with the valid forms, and
stabilize's --json says its finished tracking once."""

from __future__ import annotations

import json

import pytest

from restyle.core import cli
from restyle.core.errors import RestyleError
from restyle.core.writers import format_for_output, movie_path, output_format


def test_a_movie_name_ending_with_a_slash_is_refused(tmp_path, capsys, index_clip_h264):
    out = f"{tmp_path}/outdir.mp4/"
    argv = ["stylize", str(index_clip_h264), "-o", out, "-s", "comic-ink", "--end", "0"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert f"'{out}' ends with '/', a folder, but is named like a .mp4 movie" in err
    assert list(tmp_path.iterdir()) == []  # it wrote outdir.mp4, a movie


def test_a_movie_format_into_a_folder_name_is_refused(tmp_path, capsys, index_clip_h264):
    out = f"{tmp_path}/outdir/"
    argv = ["stylize", str(index_clip_h264), "-o", out, "--format", "h264", "-s", "comic-ink"]
    assert cli.main([*argv, "--end", "0"]) == 2
    err = capsys.readouterr().err
    assert f"a h264 movie is one file, and '{out}' ends with '/', a folder" in err
    assert f"(such as {tmp_path}/outdir.mp4)" in err
    assert list(tmp_path.iterdir()) == []  # it wrote outdir.mp4


def test_a_folder_is_still_a_folder(tmp_path):
    existing = tmp_path / "made.mp4"
    existing.mkdir()
    assert format_for_output(f"{existing}/") == "png"  # an existing folder: as before
    assert format_for_output(f"{tmp_path}/frames/") == "png"
    assert format_for_output(f"{tmp_path}/clip.mp4") == "h264"
    assert movie_path(f"{tmp_path}/clip", output_format("h264")).name == "clip.mp4"
    with pytest.raises(RestyleError):
        movie_path(f"{tmp_path}/clip/", output_format("h264"))


@pytest.mark.parametrize("device", ["cuda:x", "cpu:1", "cuda:", "banana", "mps:0", "cuda:-1"])
def test_a_malformed_device_is_refused_with_the_valid_forms(device, capsys):
    assert cli.main(["stylize", "in.mp4", "-o", "out", "--device", device]) == 2
    err = capsys.readouterr().err
    assert f"argument --device: '{device}' is not a device: use auto, cpu, cuda[:N]" in err


@pytest.mark.parametrize(
    ("given", "kept"),
    [("auto", "auto"), ("cuda:1", "cuda:1"), ("CUDA", "cuda"), ("gpu:0", "gpu:0")],
)
def test_a_device_in_a_valid_form_is_taken(given, kept):
    args = cli.build_parser().parse_args(
        ["stylize", "in", "-o", "out", "-s", "x", "--device", given]
    )
    assert args.device == kept


def test_stabilize_json_says_the_finished_tracking_once(tmp_path, capsys, index_clip_h264):
    out = tmp_path / "steady"
    assert cli.main(["stabilize", str(index_clip_h264), "-o", str(out), "--json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    ends = [e for e in events if e.get("stage") == "track" and e["done"] == e["total"]]
    # Tracking's last count, then 'Smoothing the camera path' at the same count: each once.
    said = [e.get("message") for e in ends]
    assert len(said) == len(set(said)) and "Smoothing the camera path" in said, ends
    assert any(e.get("stage") == "stabilize" for e in events)
