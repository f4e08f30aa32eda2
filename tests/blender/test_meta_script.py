"""A meta strip built by a script (``new_meta`` + ``move_to_meta``) is styled with the frames
Blender shows. Blender 4.2/4.5 leave such a meta's content 1 frame long (5.0 updates it), so
it holds its first frame over its whole length; Restyle reads the meta's own timing.
"""

from __future__ import annotations

import pytest
from vse import SIZE, add_images, all_strips, ext, render, set_timing, shown_frames, top_strips

from clips import make_image_sequence, read_index

pytestmark = pytest.mark.blender

STYLE = "starry-swirls"


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return make_image_sequence(tmp_path_factory.mktemp("meta-script"), 12, SIZE)


@pytest.fixture
def saved(scene, tmp_path):
    import bpy

    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    return tmp_path


def scripted_meta(scene, images, first, meta_at=None):
    """Images at ``first`` moved into a meta made by ``new_meta`` (at ``meta_at``, default
    ``first``), as pipeline scripts do; the meta's right handle then set to the strip's end."""
    source = add_images(scene, images, frame_start=first, channel=1)
    meta = top_strips(scene.sequence_editor).new_meta("meta", 2, meta_at or first)
    source.move_to_meta(meta)
    set_timing(meta, right_handle=first + len(images))
    return source, meta


def test_a_scripted_meta_is_styled_with_the_frames_blender_shows(
    scene, saved, images, restyle, tmp_path
):
    import bpy
    import cv2

    source, meta = scripted_meta(scene, images, first=5)
    frames = range(5, 17)
    shown = {f: read_index(img) for f, img in render(scene, frames, only=source).items()}
    read = ext("operators.strip_source").read_strip(scene, source)
    assert read.visible == (5, 16)
    assert read.frames(5, 16) == [shown[f] for f in frames]  # 4.2/4.5: all 0, held
    before = set(all_strips(scene).keys())

    result = bpy.ops.restyle.apply_style(strip=source.name, style=STYLE, temporal=0.0)

    assert result == {"FINISHED"}
    (styled,) = [s for s in all_strips(scene) if s.name not in before]
    assert styled.parent_meta() == meta and shown_frames(styled) == (5, 16)
    job = ext("core.job").StyleJob(list(images), tmp_path / "reference", STYLE, temporal=0.0)
    reference = {  # by source index (the files are named by the images' numbers, from 1)
        i: cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB)
        for i, f in enumerate(job.run().frame_files)
    }
    seen = render(scene, frames)  # what the scene shows now: the styled strip on top
    for frame in frames:
        errors = {i: abs(seen[frame].astype(float) - ref).mean() for i, ref in reference.items()}
        best = min(errors, key=errors.get)
        assert best == shown[frame] and errors[best] < 2.0, (
            f"frame {frame}: Blender showed source frame {shown[frame]}, the styled strip "
            f"shows the styling of {best}"
        )


def test_a_scripted_meta_that_never_reaches_its_strip_hides_it(scene, images):
    """A meta whose held frame has none of the strip: Blender shows nothing, Restyle refuses."""
    source, meta = scripted_meta(scene, images, first=5, meta_at=2)
    if ext("compat").strip_get(meta, "content_duration") > 1:
        pytest.skip("this Blender keeps a scripted meta's content in step with its strips")
    seen = render(scene, [2, 9, 16])
    assert all(img.max() == 0 for img in seen.values())  # Blender draws nothing there
    strip_source = ext("operators.strip_source")
    assert strip_source.visible_frames(source) is None
    with pytest.raises(ext("core.errors").RestyleError, match="hidden"):
        strip_source.read_strip(scene, source)


def test_movie_output_names_the_meta_that_holds_a_frame(scene, saved, images):
    """A movie needs one frame per source frame: a held scripted meta is the cause named
    (the message said 'frame rate, reversed or strobe'); nothing is added."""
    import bpy

    source, meta = scripted_meta(scene, images, first=5)
    if ext("compat").strip_get(meta, "content_duration") > 1:
        pytest.skip("this Blender keeps a scripted meta's content in step with its strips")
    before = set(all_strips(scene).keys())
    with pytest.raises(RuntimeError, match=r"one to one here \(its meta strip holds a frame\)"):
        bpy.ops.restyle.apply_style(strip=source.name, style=STYLE, output_format="H264")
    assert set(all_strips(scene).keys()) == before
