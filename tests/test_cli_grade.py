"""``restyle stylize``'s strip grade (--saturation, --multiply, --opacity, --convert-to-float):
the frames are styled as a Blender strip with those Color settings shows them, values outside
Blender's ranges are refused before anything is written, and the grade is in the settings key
(same grade: resumed; another: made again)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from restyle.core import cli
from restyle.core.job import StyleJob
from restyle.core.media import decode_range
from restyle.core.strip_frames import StripColor


@pytest.fixture
def shot(tmp_path):
    """Three colourful 64x48 frames (PNG: lossless, so only the grade changes them)."""
    folder = tmp_path / "shot"
    folder.mkdir()
    rng = np.random.default_rng(7)
    for i in range(3):
        cv2.imwrite(str(folder / f"f_{i:04d}.png"), rng.integers(0, 256, (48, 64, 3), np.uint8))
    return folder


def stylize(library, shot, out, *words: str, capsys) -> tuple[int, dict | str]:
    argv = ["stylize", str(shot), "-o", str(out), "-s", "comic-ink", "--temporal", "0"]
    code = cli.main([*argv, *words, "--library", str(library.root), "--json"])
    said = capsys.readouterr()
    return code, (json.loads(said.out) if code == 0 else said.err)


def frames(folder) -> list[np.ndarray]:
    return list(decode_range(folder, 0, 2))


@pytest.mark.parametrize(
    ("words", "color"),
    [
        (["--saturation", "0"], StripColor(0.0, 1.0)),
        (["--multiply", "1.5", "--opacity", "0.5"], StripColor(1.0, 0.75)),
        (
            ["--saturation", "1.6", "--multiply", "1.3", "--convert-to-float"],
            StripColor(1.6, 1.3, True),
        ),
        (  # Blender 5.2+'s order: made float, then saturated
            [
                "--saturation",
                "0.5",
                "--multiply",
                "1.3",
                "--convert-to-float",
                "--saturate-in-float",
            ],
            StripColor(0.5, 1.3, True, True),
        ),
    ],
)
def test_the_grade_is_applied_as_blender_applies_it(library, shot, tmp_path, capsys, words, color):
    """At strength 0 the output is the source graded by ``StripColor`` (Blender's formulas,
    the ones Apply Style uses); the --json record says the grade as given."""
    code, record = stylize(
        library, shot, tmp_path / "out", "--strength", "0", *words, capsys=capsys
    )
    assert code == 0, record
    source, styled = frames(shot), frames(tmp_path / "out")
    for original, made in zip(source, styled, strict=True):
        assert np.array_equal(made, color.apply(original))
        assert not np.array_equal(made, original)
    if color.saturation == 0:
        assert all(np.ptp(f.astype(int), axis=-1).max() == 0 for f in styled)  # grey
    given = dict(zip(words[::2], words[1::2], strict=False))  # the flags come last
    assert record["grade"]["saturation"] == float(given.get("--saturation", 1))
    assert record["grade"]["opacity"] == float(given.get("--opacity", 1))
    assert record["grade"]["convert_to_float"] is color.as_float
    assert record["grade"]["float_first"] is color.saturate_in_float


def test_the_command_line_styles_a_graded_strip_as_apply_style_does(
    library, shot, tmp_path, capsys
):
    """Fully styled, the command line's frames are those of the job Blender's Apply makes
    for a strip at Saturation 0.3, Multiply 1.2, blended by Replace at Opacity 0.8."""
    words = ["--saturation", "0.3", "--multiply", "1.2", "--opacity", "0.8"]
    assert stylize(library, shot, tmp_path / "cli", *words, capsys=capsys)[0] == 0
    color = StripColor.blended(0.3, 1.2, 0.8)
    job = StyleJob(shot, tmp_path / "api", "comic-ink", temporal=0.0, library=library)
    job.strip_color = color
    job.run()
    ungraded = StyleJob(shot, tmp_path / "plain", "comic-ink", temporal=0.0, library=library)
    ungraded.run()
    for made, applied, plain in zip(
        frames(tmp_path / "cli"), frames(tmp_path / "api"), frames(tmp_path / "plain"), strict=True
    ):
        assert np.array_equal(made, applied)
        assert not np.array_equal(made, plain)


@pytest.mark.parametrize(
    ("flag", "value", "said"),
    [
        ("--saturation", "-0.01", "--saturation -0.01 is out of range 0..20"),
        ("--saturation", "20.5", "--saturation 20.5 is out of range 0..20"),
        ("--saturation", "nan", "--saturation nan is out of range 0..20"),
        ("--multiply", "21", "--multiply 21 is out of range 0..20"),
        ("--multiply", "inf", "--multiply inf is out of range 0..20"),
        ("--opacity", "1.01", "--opacity 1.01 is out of range 0..1"),
        ("--opacity", "-0.5", "--opacity -0.5 is out of range 0..1"),
    ],
)
def test_a_grade_outside_blenders_range_is_refused_writing_nothing(
    library, shot, tmp_path, capsys, flag, value, said
):
    """Blender's RNA holds these settings to 0..20 (Saturation, Multiply) and 0..1 (Opacity)
    and clamps; the command line refuses, naming the option and its range."""
    code, err = stylize(library, shot, tmp_path / "out", flag, value, capsys=capsys)
    assert code == cli.EXIT_BAD_INPUT
    assert f"restyle: error: {said}\n" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shot"]


def test_the_bare_convert_to_float_before_the_source_takes_no_word():
    """--convert-to-float is a flag: the word after it is the source (an optional order
    argument took it: "invalid choice: '/x.mp4'")."""
    argv = ["stylize", "--convert-to-float", "/x.mp4", "-s", "comic-ink", "-o", "o"]
    args = cli.build_parser().parse_args(argv)
    assert (args.input, args.convert_to_float, args.saturate_in_float) == ("/x.mp4", True, False)
    args = cli.build_parser().parse_args([*argv[:2], "--saturate-in-float", *argv[2:]])
    assert (args.input, args.convert_to_float, args.saturate_in_float) == ("/x.mp4", True, True)


def test_saturate_in_float_alone_is_refused_writing_nothing(library, shot, tmp_path, capsys):
    """The order is Convert to Float's: without it, it would be silently ignored."""
    words = ["--saturation", "0.5", "--saturate-in-float"]
    code, err = stylize(library, shot, tmp_path / "out", *words, capsys=capsys)
    assert code == cli.EXIT_BAD_INPUT
    said = "--saturate-in-float is Convert to Float's order: give it with --convert-to-float"
    assert f"restyle: error: {said}\n" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shot"]


def test_the_range_ends_are_taken(library, shot, tmp_path, capsys):
    words = ["--saturation", "20", "--multiply", "0", "--opacity", "1", "--plan"]
    code, record = stylize(library, shot, tmp_path / "out", *words, capsys=capsys)
    assert code == 0, record
    assert record["output"]["outcome"] == "new"


def test_a_rerun_resumes_the_same_grade_and_makes_another_afresh(library, shot, tmp_path, capsys):
    out = tmp_path / "out"

    def run(*words):
        code, record = stylize(library, shot, out, *words, capsys=capsys)
        return (record["written"], record["reused"]) if code == 0 else record

    assert run("--saturation", "0.5", "--multiply", "1.5", "--opacity", "0.5") == (3, 0)
    # Blender folds a Replace blend's opacity into the multiply: the same grade, reused.
    assert run("--saturation", "0.5", "--multiply", "0.75") == (0, 3)
    refused = run("--saturation", "0.6", "--multiply", "0.75")
    assert "--overwrite" in refused, refused
    assert run("--saturation", "0.6", "--multiply", "0.75", "--overwrite") == (3, 0)
    plain = tmp_path / "plain"  # ungraded frames keep their key: the identity grade reuses them
    assert stylize(library, shot, plain, capsys=capsys)[0] == 0
    code, record = stylize(
        library, shot, plain, "--saturation", "1", "--opacity", "1", capsys=capsys
    )
    assert code == 0 and (record["written"], record["reused"]) == (0, 3), record
