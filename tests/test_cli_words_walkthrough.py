"""What a command-line walkthrough found the command line saying wrongly: ``styles --json -q``
refused, a variable rate's warning counting retiming events where the summary counts the
frames written as copies, ``frame_rate`` with float noise, a flat keyframe trained on in
silence, and -q's help promising no warnings."""

from __future__ import annotations

import json
from fractions import Fraction

import cv2
import numpy as np
import pytest

from restyle.core import cli
from restyle.core.engines import torch_available
from restyle.core.job import StyleJob

from clips import index_frame, make_variable_rate_clip


def test_styles_json_quiet_prints_the_list(library, capsys):
    """-q --json is how a script asks for the list (as ``shots`` and ``stylize`` take it)."""
    assert cli.main(["styles", "--json", "-q", "--library", str(library.root)]) == 0
    out = capsys.readouterr()
    assert "comic-ink" in [s["id"] for s in json.loads(out.out)] and out.err == ""


def test_the_variable_rate_warning_says_what_the_frames_hold(library, tmp_path):
    """Slots of 1/24 s, stamps in 1/240 s: slot 1 gets two frames (the second shows in the
    empty slot 2, a frame late, as the decoder holds the last frame decoded), slot 5 is
    empty after a slot of one frame (a copy of frame 4), slot 7 gets two frames and slot 8
    its own (the second of slot 7 is never shown). Before: '2 source frame(s) dropped and 2
    repeated (around frames 2, 5)' beside 1 frame written as a copy."""
    stamps = (0, 10, 14, 30, 40, 60, 70, 74, 80)
    source = make_variable_rate_clip(tmp_path / "phone.mkv", stamps, rate=24)
    result = StyleJob(source, tmp_path / "out", "comic-ink", temporal=0.0, library=library).run()
    assert result.written == 9 and result.repeats == [5] and result.repeated == 1
    (warning,) = result.warnings
    assert warning.endswith(
        "; 1 source frame dropped, 1 shown a frame late (frame 2) "
        "and 1 frame repeats the one before (frame 5)"
    )


@pytest.mark.parametrize(
    ("fps", "said"),
    [
        (Fraction(24000, 1001), 24000 / 1001),  # a rate the container states: exact
        (Fraction(240, 11), 240 / 11),
        (Fraction(25), 25.0),
        (Fraction(14.999925000374999), 14.9999),  # an average of uneven stamps
        (Fraction(18.724400234055004), 18.7244),
    ],
)
def test_frame_rate_is_exact_or_six_digits(fps, said):
    assert cli._frame_rate(fps) == said


def test_the_record_gives_an_average_rate_without_noise(library, tmp_path, capsys):
    """MP4 states the average of uneven stamps (in 1/90000 s here): a ratio of large numbers."""
    stamps = [0, 3003, 9009, 12012, 15015, 21021, 27027, 30030, 33033, 40040, 43043]
    source = make_variable_rate_clip(
        tmp_path / "phone.mp4", stamps, rate=30, time_base=Fraction(1, 90000)
    )
    code = cli.main(["stylize", str(source), "-o", str(tmp_path / "out"), "-s", "comic-ink",
                     "--temporal", "0", "--json", "-q", "--library", str(library.root)])  # fmt: skip
    assert code == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert len(repr(record["frame_rate"])) <= 8  # e.g. 24.9795, not 24.979521072796933


def test_a_flat_keyframe_is_named():
    """signal_contrast under letterbox's FLAT_CONTRAST: black, a noisy black, a flat grey."""
    from restyle.core.train.keyframes import flat_keyframes

    rng = np.random.default_rng(1)
    black = np.zeros((96, 160, 3), np.uint8)
    noisy = np.clip(rng.normal(8, 3, black.shape), 0, 255).astype(np.uint8)
    grey = np.full_like(black, 128)
    picture = index_frame(3, (160, 96))
    assert flat_keyframes([2, 9], [picture, picture]) == ""
    assert flat_keyframes([2, 9], [picture, black]).startswith("keyframe 9 is a flat frame")
    assert flat_keyframes([1, 2, 9], [noisy, grey, picture]).startswith(
        "keyframes 1, 2 are flat frames (one color, such as black): they teach the style "
        "nothing about the look"
    )


@pytest.mark.skipif(not torch_available(), reason="training needs PyTorch")
def test_training_on_a_black_keyframe_warns(tmp_path, capsys):
    folder = tmp_path / "shot"
    folder.mkdir()
    cv2.imwrite(str(folder / "frame_0001.png"), np.zeros((96, 160, 3), np.uint8))
    cv2.imwrite(str(folder / "frame_0002.png"), index_frame(1, (160, 96)))
    painted = tmp_path / "painted.png"
    cv2.imwrite(str(painted), cv2.cvtColor(index_frame(40, (160, 96)), cv2.COLOR_RGB2BGR))
    args = ["train", str(folder / "frame_0001.png"), "-k", f"0={painted}", "-n", "dark",
            "--time-budget", "1", "--library", str(tmp_path / "library")]  # fmt: skip
    assert cli.main([*args, "--json", "-q"]) == 0
    out = capsys.readouterr()
    record = json.loads(out.out.strip().splitlines()[-1])
    # 1 s may stop before the first checkpoint: that is warned of too (barely_trained)
    warnings = record["warnings"]
    assert warnings[0].startswith("keyframe 0 is a flat frame")
    # README: warnings on stderr, under --json in the record too (as stylize's)
    assert [line for line in out.err.splitlines() if "warning" in line] == [
        f"restyle: warning: {w}" for w in warnings
    ], out.err
    assert all(w.startswith("only ") for w in warnings[1:]) and len(warnings) <= 2, warnings
    assert cli.main([*args, "--overwrite", "-q"]) == 0  # -q: warnings still said
    out = capsys.readouterr()
    lines = out.err.splitlines()
    assert out.out == "" and lines[0] == f"restyle: warning: {warnings[0]}", out.err
    assert all(line.startswith("restyle: warning: only ") for line in lines[1:]), out.err
    assert len(lines) <= 2, out.err


def test_quiet_help_says_warnings_still_come(capsys):
    cli.main(["stylize", "--help"])
    helped = " ".join(capsys.readouterr().out.split())
    assert "print nothing but warnings and errors" in helped
