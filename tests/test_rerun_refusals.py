"""A refused output says why: a movie or frames made with other settings (the first that
differs named), from another source (the input replaced under its name), of other frames,
at another rate, a movie not Restyle's, one cut after, or one that cannot be read; the way
to replace it (--overwrite) still said."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from restyle.core import cli

from clips import noise_shot


def stylize(library, shot, out, *words: str, capsys):
    argv = ["stylize", str(shot), "-o", str(out), "-s", "comic-ink", "--max-side", "64"]
    code = cli.main([*argv, *words, "--library", str(library.root)])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".mp4", ""])
def test_other_settings_are_named(library, tmp_path, capsys, suffix):
    shot = noise_shot(tmp_path / "shot")
    out = tmp_path / f"out{suffix}"
    assert stylize(library, shot, out, capsys=capsys)[0] == 0
    code, err = stylize(library, shot, out, "--strength", "0.5", capsys=capsys)
    assert code == 2 and "with other settings (--strength 1.0, now 0.5)" in err, err
    assert "--overwrite" in err


@pytest.mark.parametrize("suffix", [".mp4", ""])
def test_a_replaced_source_is_another_source(library, tmp_path, capsys, suffix):
    shot = noise_shot(tmp_path / "shot")
    out = tmp_path / f"out{suffix}"
    assert stylize(library, shot, out, capsys=capsys)[0] == 0
    noise_shot(shot, seed=9)  # the plate replaced under the same names
    first = shot / "f_0000.png"
    os.utime(first, (first.stat().st_atime, first.stat().st_mtime + 5))
    code, err = stylize(library, shot, out, capsys=capsys)
    assert code == 2 and "from another source" in err and "other settings" not in err, err


def test_a_movie_of_other_frames_or_cut_or_not_a_movie(library, tmp_path, capsys):
    shot = noise_shot(tmp_path / "shot")
    out = tmp_path / "out.mp4"
    assert stylize(library, shot, out, capsys=capsys)[0] == 0
    code, err = stylize(library, shot, out, "--end", "2", capsys=capsys)
    assert code == 2 and "made of other frames (source frames 0..3)" in err, err
    data = out.read_bytes()
    out.write_bytes(data[: len(data) // 2])  # a copy cut short
    code, err = stylize(library, shot, out, capsys=capsys)
    assert code == 2 and "cannot be read as a movie" in err, err
    from clips import encode_clip

    encode_clip(out, [np.zeros((48, 64, 3), np.uint8)] * 4)
    code, err = stylize(library, shot, out, capsys=capsys)
    assert code == 2 and "not made by Restyle" in err, err


@pytest.mark.parametrize("suffix", [".mp4", ""])
def test_an_earlier_pipeline_version_is_named(library, tmp_path, capsys, monkeypatch, suffix):
    """Output an upgrade's PIPELINE_VERSION invalidates says so, not 'other settings': the
    user's settings are the same."""
    from restyle.core import job

    shot = noise_shot(tmp_path / "shot")
    out = tmp_path / f"out{suffix}"
    now = job.PIPELINE_VERSION
    with monkeypatch.context() as patch:
        patch.setattr(job, "PIPELINE_VERSION", now - 1)
        assert stylize(library, shot, out, capsys=capsys)[0] == 0
    code, err = stylize(library, shot, out, capsys=capsys)
    said = f"made by an earlier Restyle (pipeline version {now - 1}, now {now})"
    assert code == 2 and said in err and "--overwrite" in err, err


def test_output_made_before_a_record_was_kept(library, tmp_path, capsys, monkeypatch):
    """Frames of a Restyle that kept no record of how they were made (before 277ca90)."""
    import json

    from restyle.core import job

    shot = noise_shot(tmp_path / "shot")
    out = tmp_path / "out"
    with monkeypatch.context() as patch:
        patch.setattr(job, "PIPELINE_VERSION", job.PIPELINE_VERSION - 1)
        assert stylize(library, shot, out, capsys=capsys)[0] == 0
    manifest = out / job.MANIFEST
    kept = json.loads(manifest.read_text())
    del kept["made_from"]  # as such a Restyle wrote it
    manifest.write_text(json.dumps(kept))
    code, err = stylize(library, shot, out, capsys=capsys)
    assert code == 2 and "made by an earlier Restyle or with other settings" in err, err


@pytest.mark.parametrize(
    ("first", "then", "said"),
    [
        (["--format", "png"], ["--format", "tif"], "(--format png, now tif)"),
        ([], ["--preserve-colors"], "(--preserve-colors off, now on)"),
        (["--scale", "0.5"], ["--max-side", "64"], "(--scale 0.5, now --max-side 64)"),
        (["--max-side", "64"], ["--scale", "0.5"], "(--max-side 64, now --scale 0.5)"),
    ],
)
def test_the_setting_that_differs_is_named(library, tmp_path, capsys, first, then, said):
    """Format and colours, parts of the settings key, are named too, by their flags; a
    size given the other way is named as each was given, never 'None' nor 'full size'."""
    shot = noise_shot(tmp_path / "shot")
    out = tmp_path / "out"

    def run(*words):  # --scale and --max-side are either-or: each run gives one
        argv = ["stylize", str(shot), "-o", str(out), "-s", "comic-ink", *words]
        code = cli.main([*argv, "--library", str(library.root)])
        return code, capsys.readouterr().err

    default = [] if "--scale" in first + then else ["--max-side", "64"]
    assert run(*default, *first)[0] == 0
    code, err = run(*default, *then)
    assert code == 2 and f"with other settings {said}" in err and "None" not in err, err


def test_blender_says_an_unset_longest_side_in_words():
    from restyle.core.errors import BLENDER, say
    from restyle.core.job import _made_otherwise

    def record(**settings):
        return {"source": "s", "style": "comic-ink", "settings": settings, "key": {}}

    then = record(strength=1.0, scale=None, max_side=1280, temporal=0.5)
    now = record(strength=1.0, scale=None, max_side=None, temporal=0.5)
    said = say(_made_otherwise(then, now), BLENDER)
    assert said == "with other settings (Longest Side 1280, now full size)", said
    said = say(_made_otherwise(now, then), BLENDER)
    assert said == "with other settings (full size, now Longest Side 1280)", said


@pytest.mark.parametrize(
    ("front_end", "said"),
    [
        ("command line", "(--preserve-colors off, now on)"),
        ("blender", "(Preserve Colors off, now on)"),
        ("python", "(preserve_colors off, now on)"),
    ],
)
def test_preserve_colours_is_named_in_each_front_ends_words(front_end, said):
    """Its words were one English phrase in every front end ('colours not preserved'); now
    the CLI names its flag, Blender the sidebar's and Apply Style's checkbox."""
    from restyle.core.errors import say
    from restyle.core.job import _made_otherwise

    def record(preserve: bool):
        settings = {"strength": 1.0, "scale": None, "max_side": 64, "temporal": 0.5}
        key = {"format": "png", "preserve_colors": preserve, "version": 9}
        return {"source": "s", "style": "comic-ink", "settings": settings, "key": key}

    text = say(_made_otherwise(record(False), record(True)), front_end)
    assert text == f"with other settings {said}", text


@pytest.mark.parametrize(
    ("then", "now", "said"),
    [
        ((0.5, None), (None, 1280), "(Scale 0.5, now Longest Side 1280)"),
        ((None, 1280), (0.5, None), "(Longest Side 1280, now Scale 0.5)"),
        ((None, 1280), (None, None), "(Longest Side 1280, now full size)"),
        ((0.5, None), (None, None), "(Scale 0.5, now full size)"),
    ],
)
def test_a_size_given_the_other_way_names_both_in_blenders_words(then, now, said):
    """Scale switched to Longest Side (or back) was named by the scale alone ('Scale 0.5,
    now full size', though frames were not styled at full size); an unset size is still
    'full size'."""
    from restyle.core.errors import BLENDER, say
    from restyle.core.job import _made_otherwise

    def record(scale, max_side):
        settings = {"strength": 1.0, "scale": scale, "max_side": max_side, "temporal": 0.5}
        return {"source": "s", "style": "comic-ink", "settings": settings, "key": {}}

    text = say(_made_otherwise(record(*then), record(*now)), BLENDER)
    assert text == f"with other settings {said}", text


@pytest.mark.parametrize(
    ("name", "old", "new", "said"),
    [
        ("format", "png", "tif", "with other settings (--format png, now tif)"),
        ("carry", 1.0, 0.5, "with other settings (--carry 1.0, now 0.5)"),
        ("carry", None, 0.5, "with other settings (made without --carry, now --carry 0.5)"),
        ("strip_color", None, [1.5, 1.0, False, True], "with another color grade (the"),
        ("style_file", [1, 2], [1, 3], "with the style as it was before (its file changed"),
        ("version", 8, 9, "by an earlier Restyle (pipeline version 8, now 9)"),
        ("version", 10, 9, "by a later Restyle (pipeline version 10, this one 9)"),
        ("names", None, "001001", "with other settings (frames named from 0 by an earlier"),
        ("names", "001001", None, "with other settings (frames named from 001001, now 0)"),
        ("lookahead", [1], [2], "by an earlier Restyle (another revision of its temporal"),
        ("lookahead", None, [2], "with other settings (lookahead off, now on)"),
        ("coherence", 1, 2, "by an earlier Restyle (another revision of its temporal"),
        ("coherence", None, 2, "with other settings"),
        ("grade_revision", 1, 2, "by an earlier Restyle (another revision of its color grade)"),
        ("grade_revision", None, 2, "with other settings"),
        ("cuts", [3], [4], "with other shot cuts"),
        ("tone_map", None, ["pq", 1000], "with the source's HDR read otherwise"),
        ("upright", None, 1, "with the source read another way (its rotation, mirror"),
        ("mirrored", None, True, "with the source read another way"),
        ("lead_in", None, 2, "with the source read another way"),
        ("a_part_of_tomorrow", 1, 2, "with other settings"),
    ],
)
def test_each_settings_key_part_is_worded(name, old, new, said):
    """Each part of the settings key that differs, in the command line's words (one table,
    ``job._KEY_PARTS``; the words as the if-chain before it said them)."""
    from restyle.core.errors import COMMAND_LINE, say
    from restyle.core.job import _key_part_otherwise

    text = say(_key_part_otherwise(name, old, new), COMMAND_LINE)
    assert text.startswith(said) and (said != "with other settings" or text == said), text


def test_a_range_past_a_numbered_sequence_reads_its_frame_numbers(library, tmp_path, capsys):
    """shot_0001_v0.png ...: numbered from 1 by the field that counts (media's), not by the
    name's last digits (the version, 0)."""
    shot = tmp_path / "shot"
    shot.mkdir()
    for i in range(1, 5):
        cv2.imwrite(str(shot / f"shot_{i:04d}_v0.png"), np.full((48, 64, 3), 40 * i, np.uint8))
    code, err = stylize(library, shot, tmp_path / "out", "--end", "4", capsys=capsys)
    assert code == 2 and "(frames count from 0: shot_0001_v0.png is frame 0)" in err, err


def test_overwrite_on_a_finished_movie_says_how_to_make_it_again(library, tmp_path, capsys):
    shot = noise_shot(tmp_path / "shot")
    out = tmp_path / "out.mp4"
    assert stylize(library, shot, out, capsys=capsys)[0] == 0
    argv = ["stylize", str(shot), "-o", str(out), "-s", "comic-ink", "--max-side", "64"]
    assert cli.main([*argv, "--overwrite", "--library", str(library.root)]) == 0
    said = capsys.readouterr()
    text = said.out + said.err
    assert "nothing rewritten, even with --overwrite (delete the movie" in text, text


def test_frames_named_from_0_by_an_earlier_restyle(library, tmp_path, capsys, monkeypatch):
    """plate.1001's frames an earlier Restyle named 000000.png ... (c4bfffe names them by
    the source's numbers): said so, not a bare 'other settings'."""
    from restyle.core import job

    shot = tmp_path / "plate"
    shot.mkdir()
    for n in range(1001, 1005):
        cv2.imwrite(str(shot / f"plate.{n}.png"), np.full((48, 64, 3), n % 200, np.uint8))
    out = tmp_path / "out"
    with monkeypatch.context() as old:  # the earlier Restyle: every source named from 0
        old.setattr(job, "frame_numbering", lambda info: (0, 0))
        assert stylize(library, shot, out, capsys=capsys)[0] == 0
    code, err = stylize(library, shot, out, capsys=capsys)
    said = "holds frames made with other settings (frames named from 0 by an earlier Restyle)"
    assert code == 2 and said in err, err
