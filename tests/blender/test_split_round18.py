"""Round 18's Blender walkthrough of split strips and follow-up tools: a styled strip lost its
source to the left piece of a split (Split at Cuts or Blender's own K), Split at Cuts named
its pieces right to left, Matte matted a matte ('….Matte.Matte'), Stabilize on a styled
strip warned of its list of images, and a one-frame run said 'frames 120, 1 styled'."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_edit_tools import shaky
from vse import add_movie, all_strips, ext, set_timing, shown_frames, top_strips

from clips import encode_clip, make_index_clip

pytestmark = pytest.mark.blender

MEGAMIND = Path.home() / ".cache/restyle/footage/Megamind.avi"
STYLE = "comic-ink"


@pytest.fixture
def saved(scene, tmp_path):
    import bpy

    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "split.blend"))
    return tmp_path


def active(scene):
    return scene.sequence_editor.active_strip


def by_start(scene, names) -> list:
    return sorted((all_strips(scene)[n] for n in names), key=lambda s: shown_frames(s)[0])


@pytest.mark.skipif(not MEGAMIND.is_file(), reason="no Megamind.avi in the footage cache")
def test_a_styled_strip_keeps_its_source_after_split_at_cuts(scene, saved, sequencer_area):
    """Megamind.avi styled over frames 5-16, then Split at Cuts: the left piece (frames 1-2)
    kept the name, so Apply on the styled strip styled it (a 2-frame strip, or frames 5-16
    refused as outside 'Megamind.avi' (1-2)) and the sidebar named it. The piece under the
    styled strip is its source; the pieces are named left to right."""
    import bpy

    runner = ext("operators.runner")
    output_strip = ext("operators.output_strip")
    # Megamind's 23.976 fps (2997/125): bpy 5.3 adds a movie of another rate only through
    # the operator, which crashes headless
    scene.render.fps, scene.render.fps_base = 2997, 125.0
    source = add_movie(scene, sequencer_area, MEGAMIND, frame_start=1)
    name = source.name
    assert bpy.ops.restyle.apply_style(strip=name, style=STYLE, frame_start=5, frame_end=16) == {
        "FINISHED"
    }, runner.RUN.summary
    styled = active(scene)
    assert bpy.ops.restyle.split_at_cuts(strip=name) == {"FINISHED"}, runner.RUN.summary
    pieces = by_start(scene, set(all_strips(scene).keys()) - {styled.name})
    assert len(pieces) >= 3 and shown_frames(pieces[0]) == (1, 2), [
        (p.name, shown_frames(p)) for p in pieces
    ]
    names = [p.name for p in pieces]  # Blender 5.0: 'Megamind.001'; 5.3: 'Megamind.avi.001'
    numbers = [int(n.rsplit(".", 1)[1]) for n in names[1:]]
    assert names[0] == name and numbers == list(range(1, len(pieces))), names
    under = pieces[1]  # frames 3-99: under the styled strip's 5-16
    editor = scene.sequence_editor
    assert output_strip.styled_from_now(editor, styled) == f"Restyle output of '{under.name}'"
    editor.active_strip = styled
    assert bpy.ops.restyle.apply_style(style=STYLE, frame_start=5, frame_end=16) == {"FINISHED"}, (
        runner.RUN.summary
    )
    summary = runner.RUN.summary
    assert f"the source '{under.name}'" in summary, summary
    assert shown_frames(active(scene)) == (5, 16), summary


def test_blenders_own_split_leaves_the_source_under_the_styled_strip(
    scene, sequencer_area, tmp_path
):
    """Blender's split (K) keeps the name on the left piece too: a strip styled over frames
    13-20 of a clip split at frame 10 comes from the right piece."""
    output_strip = ext("operators.output_strip")
    clip = make_index_clip(tmp_path / "clip.mp4", 24, fps=24, gop=4)
    source = add_movie(scene, sequencer_area, clip, frame_start=1)
    name = source.name
    picture = tmp_path / "styled.png"
    picture.write_bytes(b"")
    styled = top_strips(scene.sequence_editor).new_image("clip.Comic", str(picture), 2, 13)
    set_timing(styled, duration=8)
    styled[output_strip.STYLED_FROM] = name
    styled[output_strip.STYLED_MEDIA] = output_strip.media_record(source)
    right = source.split(frame=10, split_method="SOFT")
    editor = scene.sequence_editor
    assert all_strips(scene)[name] == source and shown_frames(source) == (1, 9)
    assert output_strip.styled_source(editor, styled)[0] == right
    assert output_strip.styled_from_now(editor, styled) == f"Restyle output of '{right.name}'"
    # moved off both pieces: the one of the marked name, as before
    set_timing(styled, content_start=100)
    assert output_strip.styled_source(editor, styled)[0] == source


def test_matte_refuses_a_matte_strip(scene, sequencer_area, tmp_path):
    """``matte_strip`` on 'vtest.avi.Matte' made 'vtest.avi.Matte.Matte': refused, naming
    the strip to matte instead."""
    import bpy

    clip = make_index_clip(tmp_path / "clip.mp4", 4, fps=24, gop=4)
    matte = add_movie(scene, sequencer_area, clip, frame_start=1)
    matte.name = "vtest.avi.Matte"
    matte[ext("operators.matte").MATTE_OF] = "vtest.avi"
    said = (
        "'vtest.avi.Matte' is already a matte of 'vtest.avi': to matte again (other "
        "settings), select 'vtest.avi' and Matte"
    )
    with pytest.raises(RuntimeError, match=re.escape(said)):
        bpy.ops.restyle.matte_strip(strip=matte.name, frame_start=1, frame_end=1)
    assert list(all_strips(scene).keys()) == [matte.name]


def test_stabilizing_a_styled_strip_says_what_to_do(scene, saved, sequencer_area, tmp_path):
    """A 10 fps clip styled in the 24 fps scene repeats its pictures; Stabilize on it
    warned '000001.png follows 000001.png in the list of images, so the frames are named
    from 0…'. It says what to do instead."""
    import bpy

    runner = ext("operators.runner")
    clip = encode_clip(tmp_path / "slow.mp4", shaky("astronaut", 6, 5), fps=10)
    source = add_movie(scene, sequencer_area, clip, frame_start=1)
    assert bpy.ops.restyle.apply_style(
        strip=source.name, style=STYLE, frame_start=1, frame_end=12
    ) == {"FINISHED"}, runner.RUN.summary
    styled = active(scene)
    names = [e.filename for e in styled.elements]
    assert len(set(names)) < len(names), names  # Restyle's own repeats
    assert bpy.ops.restyle.stabilize_strip(strip=styled.name) == {"FINISHED"}
    summary = runner.RUN.summary
    assert "in the list of images" not in summary, summary
    said = (
        f"'{styled.name}' is a styled strip, whose pictures repeat where its source's frame "
        f"rate is below the scene's: to steady the footage itself, stabilize '{source.name}' "
        "and style the stabilized strip"
    )
    assert said in summary, summary


def test_a_one_frame_run_says_frame(scene, saved, sequencer_area, tmp_path):
    """A one-frame run said 'frames 2, 1 styled, 0 reused'."""
    import bpy

    runner = ext("operators.runner")
    clip = make_index_clip(tmp_path / "clip.mp4", 4, fps=24, gop=4)
    source = add_movie(scene, sequencer_area, clip, frame_start=1)
    run = bpy.ops.restyle.apply_style
    assert run(strip=source.name, style=STYLE, frame_start=2, frame_end=2) == {"FINISHED"}
    summary = runner.RUN.summary
    assert f"{source.name}.Comic Ink: frame 2, styled, " in summary, summary
    assert run(strip=source.name, style=STYLE, frame_start=1, frame_end=4) == {"FINISHED"}
    summary = runner.RUN.summary  # more than one: counted, the one of them made before too
    assert re.search(r": frames 1-4, \d styled, \d reused, ", summary), summary
