"""Inside Blender a styled movie stays silent: the source's sound strip keeps playing in the
timeline, in sync already, so the movie Restyle writes carries no second copy of it."""

from __future__ import annotations

import pytest
from vse import add_movie, all_strips

pytestmark = pytest.mark.blender


@pytest.fixture
def saved(scene, tmp_path):
    import bpy

    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "audio.blend"))
    return tmp_path


def test_movies_made_in_blender_carry_no_sound(scene, saved, sequencer_area, tmp_path):
    import av
    import bpy
    from test_audio import make_clip

    clip = make_clip(tmp_path / "talk.mp4")  # 48 frames at 24 fps, AAC stereo
    source = add_movie(scene, sequencer_area, clip, frame_start=1)
    made = []
    for operator, options in (
        (bpy.ops.restyle.stabilize_strip, {}),
        (bpy.ops.restyle.apply_style, {"style": "starry-swirls", "temporal": 0.0}),
    ):
        before = set(all_strips(scene).keys())
        assert operator(
            strip=source.name, frame_start=1, frame_end=24, output_format="H264", **options
        ) == {"FINISHED"}
        (name,) = set(all_strips(scene).keys()) - before  # the movie strip only, no sound strip
        made.append(all_strips(scene)[name])
    for strip in made:
        assert strip.type == "MOVIE"
        with av.open(bpy.path.abspath(strip.filepath)) as movie:
            assert movie.streams.video and not movie.streams.audio
