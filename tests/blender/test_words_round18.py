"""Round 18's words in Blender: the variable-rate warning numbers scene frames, as the run
summary does (it numbered the source's), and the sidebar's "File missing" row checks the
pictures an image-sequence strip shows (it checked the first file only)."""

# ruff: noqa: F811 (test_panels' panel_context fixture, imported, is the tests' argument)

from __future__ import annotations

import pytest
from test_panels import panel_context  # noqa: F401 (the fixture, imported)
from vse import add_movie, ext

from clips import make_variable_rate_clip

pytestmark = pytest.mark.blender


def test_the_variable_rate_warning_names_scene_frames(scene, sequencer_area, tmp_path):
    """Stamps of test_cli_words_walkthrough: source frame 2 shows a frame late and source
    frame 5 repeats frame 4. The strip starts at scene frame 101, so they are scene frames
    103 and 106 there, as the summary's 'frames 101-109' counts them. Before: 'frame 2'
    and 'frame 5' beside 'frames 101-109'."""
    import bpy

    stamps = (0, 10, 14, 30, 40, 60, 70, 74, 80)
    movie = make_variable_rate_clip(tmp_path / "phone.mkv", stamps, rate=24)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "vfr.blend"))
    source = add_movie(scene, sequencer_area, movie, frame_start=101)
    done = bpy.ops.restyle.apply_style(
        strip=source.name, style="comic-ink", temporal=0.0, frame_start=101, frame_end=109
    )
    assert done == {"FINISHED"}
    summary = ext("operators.runner").RUN.summary
    assert "frames 101-109" in summary, summary
    assert "1 shown a frame late (frame 103)" in summary, summary
    assert "1 frame repeats the one before (frame 106)" in summary, summary


def pictures(folder, n: int):
    """An image strip's files: 0001.png .. n (touched: the sidebar looks, never reads)."""
    folder.mkdir()
    for i in range(1, n + 1):
        (folder / f"{i:04d}.png").touch()
    return folder


def image_strip(scene, folder, n: int, frame_start: int = 1):
    import test_panels

    strip = test_panels.top_strips(scene.sequence_editor).new_image(
        "shot", str(folder / "0001.png"), 2, frame_start
    )
    for i in range(2, n + 1):
        strip.elements.append(f"{i:04d}.png")
    scene.sequence_editor.active_strip = strip
    return strip


def missing_row(context) -> list[str]:
    from test_panels_round17 import main_panel

    calls = main_panel(context)
    rows = [c[1]["text"] for c in calls if c[0] == "label" and c[1].get("icon") == "ERROR"]
    return [row for row in rows if "missing" in row]  # not an earlier run's summary


def test_missing_pictures_in_the_middle_are_counted(panel_context, tmp_path):
    """Only the first picture was looked for: a sequence missing 0003 and 0004 was fine."""
    from test_panels import enabled_operators
    from test_panels_round17 import main_panel

    folder = pictures(tmp_path / "seq", 6)
    image_strip(panel_context.scene, folder, 6)
    assert missing_row(panel_context) == []
    (folder / "0003.png").unlink()
    (folder / "0004.png").unlink()
    assert missing_row(panel_context) == ["2 pictures missing, first 0003.png"]
    assert not enabled_operators(main_panel(panel_context))["restyle.apply_style"]


def test_the_pictures_looked_for_are_those_the_strip_shows(panel_context, tmp_path):
    """Its left handle at frame 3: 0001 and 0002 are not shown. Before, 0001 missing was
    'File missing' and 0005 missing was fine."""
    compat = ext("compat")
    folder = pictures(tmp_path / "seq", 6)
    strip = image_strip(panel_context.scene, folder, 6)
    compat.strip_set(strip, "left_handle", 3)
    (folder / "0001.png").unlink()
    assert missing_row(panel_context) == []
    (folder / "0005.png").unlink()
    assert missing_row(panel_context) == ["File missing: 0005.png"]


def test_a_redraw_lists_a_long_sequence_once(panel_context, tmp_path, monkeypatch):
    """1,000 pictures, the main panel and its three sub-panels drawn twice: the folder is
    listed at most once a redraw and no picture in it is looked for one by one (before: the
    first picture's stat alone); a picture not listed is looked for itself. Only lookups in
    the sequence's folder count: whatever else a redraw looks up is not this row's."""
    import os

    from test_panels_round17 import draw, main_panel

    folder = pictures(tmp_path / "seq", 1000)
    image_strip(panel_context.scene, folder, 1000)
    lists, stats = [], []
    isfile, listdir = os.path.isfile, os.listdir

    def looked(path, into, parent: bool) -> None:
        path = os.path.normpath(str(path))
        if (os.path.dirname(path) if parent else path) == str(folder):
            into.append(os.path.basename(path))

    monkeypatch.setattr(os.path, "isfile", lambda p: looked(p, stats, True) or isfile(p))
    monkeypatch.setattr(os, "listdir", lambda p=".": looked(p, lists, False) or listdir(p))
    for _redraw in range(2):
        main_panel(panel_context)
        for name in ("keyframes", "background", "edit"):
            draw(name, panel_context)
    assert 1 <= len(lists) <= 2, lists
    assert stats == []
    (folder / "0500.png").unlink()
    lists.clear()
    assert missing_row(panel_context) == ["File missing: 0500.png"]
    assert len(lists) == 1, lists
    assert stats == ["0500.png"]
