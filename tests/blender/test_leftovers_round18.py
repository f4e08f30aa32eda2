"""Round 18's Blender leftovers: the damaged-frames warning numbered the source's frames
(the variable-rate one already named scene frames), Apply refused an image strip missing a
picture it does not show (the sidebar said it was fine), a run whose source was deleted
said '(1 styled, 0 reused)' of one frame, and Matte or Apply on a styled strip warned the
reader's note on its list of images (Stabilize alone said what to do)."""

# ruff: noqa: F811 (fixtures imported from other test files are the tests' arguments)

from __future__ import annotations

import pytest
from test_panels import panel_context  # noqa: F401 (the fixture, imported)
from test_split_round18 import saved  # noqa: F401 (the fixture, imported)
from vse import (
    add_images,
    add_movie,
    all_strips,
    during_the_run,
    ext,
    set_timing,
    shown_frames,
    top_strips,
)

from clips import encode_clip, make_image_sequence, make_index_clip

pytestmark = pytest.mark.blender

STYLE = "comic-ink"


def summary() -> str:
    return ext("operators.runner").RUN.summary


def corrupt_middle(path):
    """Bytes flipped in the middle of the file, as test_file_safety's damaged copy: FFV1
    with a keyframe every 10 frames loses keyframe 20 and the frames coded after it."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    for i in range(middle, middle + 3000, 7):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def test_the_damaged_frames_warning_names_scene_frames(scene, saved, sequencer_area, tmp_path):
    """Source frames 20-29 could not be decoded; the strip starts at scene frame 101, so
    they are frames 121-130 there, as the summary's 'frames 101-140' counts them. Before:
    'around frames 20-29' beside 'frames 101-140'."""
    import bpy

    clip = make_index_clip(tmp_path / "clip.mkv", 40, codec="ffv1", gop=10)
    source = add_movie(scene, sequencer_area, corrupt_middle(clip), frame_start=101)
    done = bpy.ops.restyle.apply_style(
        strip=source.name, style=STYLE, temporal=0.0, frame_start=101, frame_end=140
    )
    assert done == {"FINISHED"}, summary()
    said = summary()
    assert "frames 101-140" in said, said
    assert "could not be decoded cleanly (around frames 121-130: damaged" in said, said


def trimmed_pictures(scene, tmp_path):
    """Six pictures 0001-0006 added at frame 1, trimmed to show 0002-0005."""
    files = make_image_sequence(tmp_path / "shot", 6, name="{:04d}.png")
    strip = add_images(scene, files, frame_start=1, channel=2, name="shot")
    set_timing(strip, content_trim_start=1, content_trim_end=1)
    scene.sequence_editor.active_strip = strip
    return strip, files


def test_apply_looks_for_the_pictures_an_image_strip_shows(panel_context, saved, tmp_path):
    """0001.png and 0006.png are trimmed away and gone: the sidebar's File missing row says
    nothing, and Apply refused the strip ('2 images of 'shot' missing'); it styles it now.
    A picture it shows, gone, is still refused."""
    import bpy
    from test_words_round18 import missing_row

    runner = ext("operators.runner")
    runner.RUN.end(runner.IDLE, "")  # an earlier test's warnings are rows too
    scene = panel_context.scene
    strip, files = trimmed_pictures(scene, tmp_path)
    files[0].unlink()
    files[-1].unlink()
    assert missing_row(panel_context) == []
    done = bpy.ops.restyle.apply_style(strip=strip.name, style=STYLE, temporal=0.0)
    assert done == {"FINISHED"}, summary()
    first, last = shown_frames(strip)  # 1-4 on Blender 5.0, 2-5 on 5.2: trims differ
    assert last - first == 3
    assert summary().startswith(f"shot.Comic Ink: frames {first}-{last}, 4 styled"), summary()
    styled = scene.sequence_editor.active_strip  # its pictures named by the source's numbers
    assert [e.filename for e in styled.elements] == [f"{i:06d}.png" for i in range(2, 6)]
    files[2].unlink()  # 0003.png, shown at frame 3
    assert missing_row(panel_context) == ["File missing: 0003.png"]
    with pytest.raises(RuntimeError, match="File missing in 'shot': //shot/0003.png"):
        bpy.ops.restyle.apply_style(strip=strip.name, style=STYLE, temporal=0.0)


def test_a_one_frame_run_whose_source_is_deleted_says_styled(
    scene, saved, sequencer_area, monkeypatch, tmp_path
):
    """One frame's summary reads 'frame 2, styled' (af9bccf); with its source deleted
    during the run it still said '(1 styled, 0 reused)'."""
    import bpy

    clip = make_index_clip(tmp_path / "clip.mp4", 4, fps=24, gop=4)
    name = add_movie(scene, sequencer_area, clip, frame_start=1).name

    def delete():
        strip = all_strips(scene).get(name)
        if strip is not None:
            top_strips(scene.sequence_editor).remove(strip)

    during_the_run(monkeypatch, ext("core.job").StyleJob, delete)
    done = bpy.ops.restyle.apply_style(strip=name, style=STYLE, frame_start=2, frame_end=2)
    assert done == {"CANCELLED"}
    said = summary()
    assert said.startswith(f"No strip added: '{name}' left the sequencer"), said
    assert "the finished 1 frame stays in " in said and " (styled), and " in said, said


@pytest.fixture
def styled_slow(scene, saved, sequencer_area, tmp_path):
    """A 10 fps clip styled in the 24 fps scene: the styled strip repeats its pictures."""
    import bpy
    from test_edit_tools import shaky

    clip = encode_clip(tmp_path / "slow.mp4", shaky("astronaut", 6, 5), fps=10)
    source = add_movie(scene, sequencer_area, clip, frame_start=1)
    done = bpy.ops.restyle.apply_style(strip=source.name, style=STYLE, frame_start=1, frame_end=12)
    assert done == {"FINISHED"}, summary()
    styled = scene.sequence_editor.active_strip
    names = [e.filename for e in styled.elements]
    assert len(set(names)) < len(names), names  # Restyle's own repeats
    return source, styled


def styled_note(styled, advice: str) -> str:
    return (
        f"'{styled.name}' is a styled strip, whose pictures repeat where its source's frame "
        f"rate is below the scene's: {advice}"
    )


def test_matte_on_a_styled_strip_says_what_to_do(styled_slow):
    """Matte on it warned '000001.png follows 000001.png in the list of images, so the
    frames are named from 0…' (af9bccf replaced it for Stabilize only)."""
    import bpy

    source, styled = styled_slow
    done = bpy.ops.restyle.matte_strip(strip=styled.name, frame_start=1, frame_end=12)
    assert done == {"FINISHED"}, summary()
    said = summary()
    assert "in the list of images" not in said, said
    advice = f"for the footage itself, select '{source.name}' and Matte"
    assert styled_note(styled, advice) in said, said


def test_apply_on_a_styled_strip_itself_says_what_to_do(styled_slow):
    """Apply with restyle_output_itself on it warned the same reader's note."""
    import bpy

    source, styled = styled_slow
    done = bpy.ops.restyle.apply_style(
        strip=styled.name, style=STYLE, restyle_output_itself=True, temporal=0.0
    )
    assert done == {"FINISHED"}, summary()
    said = summary()
    assert "in the list of images" not in said, said
    advice = f"for the footage itself, select '{source.name}' and Apply Style"
    assert styled_note(styled, advice) in said, said
